// Binding parity (issue 11, item 6, in part): wrangler.jsonc is read as wrangler reads it; the
// [assets] binding is a Fetcher serving the same files the asset router serves; a declared
// binding the runtime cannot emulate is named at start-up and raises, when used, an error that
// says so, instead of being dropped (an AttributeError far from the cause).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorker } from "../testing/worker-process.mjs";

const WRANGLER_JSONC = `{
  // The shape of Cloudflare's own bindings-test config, in small.
  "name": "bindings",
  "main": "src/entry.py",
  "compatibility_date": "2026-04-20",
  "compatibility_flags": ["python_workers"],
  "assets": { "directory": "public", "binding": "ASSETS", "not_found_handling": "single-page-application" },
  "vectorize": [{ "binding": "VECTORS", "index_name": "embeddings" }],
  "version_metadata": { "binding": "VERSION" },
}
`;

const ENTRY = `
import json
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = request.url.split("/", 3)[3]
        if path == "via-binding":
            return await self.env.ASSETS.fetch(request.url.replace("via-binding", "hello.txt"))
        if path == "missing-via-binding":
            return await self.env.ASSETS.fetch(request.url.replace("missing-via-binding", "nope.txt"))
        if path == "vectors":
            declared = hasattr(self.env, "VECTORS")
            try:
                await self.env.VECTORS.query([0.1, 0.2], {"topK": 1})
                error = None
            except Exception as raised:
                error = str(raised)
            return Response(json.dumps({"declared": declared, "error": error}))
        return Response("worker")
`;

let worker;
before(async () => {
  worker = await startWorker({
    wrangler: WRANGLER_JSONC,
    configName: "wrangler.jsonc",
    entry: ENTRY,
    files: { "public/hello.txt": "hello from an asset\n", "public/index.html": "<!doctype html><title>app</title>\n" },
  });
});
after(() => worker?.stop());

test("the [assets] binding serves the asset directory to the Worker", async () => {
  const found = await fetch(`${worker.url}/via-binding`);
  assert.equal(found.status, 200);
  assert.equal(await found.text(), "hello from an asset\n");
  assert.equal(await (await fetch(`${worker.url}/hello.txt`)).text(), "hello from an asset\n"); // the router too
});

test("single-page-application: the binding answers every miss with index.html", async () => {
  const miss = await fetch(`${worker.url}/missing-via-binding`);
  assert.equal(miss.status, 200);
  assert.match(await miss.text(), /<title>app<\/title>/);
  assert.equal(await (await fetch(`${worker.url}/some/page`)).text(), "worker"); // not a navigation
});

test("a binding that is not emulated is named at start-up and raises on use", async () => {
  assert.match(worker.output(), /binding "VECTORS" \(Vectorize, \[vectorize\]\) is declared but not emulated locally/);
  assert.match(worker.output(), /binding "VERSION" \(Version Metadata, \[version_metadata\]\)/);
  const body = await (await fetch(`${worker.url}/vectors`)).json();
  assert.equal(body.declared, true);
  assert.match(body.error, /binding "VECTORS" \(Vectorize\) is not emulated by the local runtime/);
  assert.doesNotMatch(worker.output(), /is used by the Worker but is not declared/);
});

// Binding parity (issue 11, item 6): wrangler.jsonc is read as wrangler reads it; the [assets]
// binding is a Fetcher serving the same files the asset router serves; Rate Limiting, Analytics
// Engine, Version Metadata, Images and Vectorize (vectorize.test.mjs) are emulated with workerd's class names (the workers SDK
// wraps bindings by them); a declared binding the runtime cannot emulate is named at start-up,
// presented under its production class name, and raises, when used, an error that says so,
// instead of being dropped (an AttributeError far from the cause).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorker } from "../testing/worker-process.mjs";

const WRANGLER_JSONC = `{
  // The shape of Cloudflare's own bindings-test config, in small.
  "name": "bindings",
  "main": "src/entry.py",
  "compatibility_date": "2026-08-22",
  "compatibility_flags": ["python_workers"],
  "assets": { "directory": "public", "binding": "ASSETS", "not_found_handling": "single-page-application" },
  "vectorize": [{ "binding": "VECTORS", "index_name": "embeddings" }],
  "mtls_certificates": [{ "binding": "CERT", "certificate_id": "00000000-0000-0000-0000-000000000000" }],
  "version_metadata": { "binding": "VERSION" },
  "ratelimits": [{ "name": "LIMITER", "namespace_id": "1001", "simple": { "limit": 2, "period": 60 } }],
  "analytics_engine_datasets": [{ "binding": "EVENTS", "dataset": "events" }],
  "images": { "binding": "IMAGES" },
}
`;

const ENTRY = `
import json

import js
from pyodide.ffi import to_js
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
        if path == "emulated":
            from workers.rpc import _BindingWrapper, _FetcherWrapper
            limits = [(await self.env.LIMITER.limit({"key": "k"})).success for _ in range(3)]
            self.env.EVENTS.writeDataPoint({"blobs": ["a"], "doubles": [1.5], "indexes": ["i"]})
            try:
                self.env.EVENTS.writeDataPoint({"indexes": ["a", "b"]})
                two_indexes = None
            except Exception as error:
                two_indexes = str(error)
            png = await request.bytes()
            info = await self.env.IMAGES.info(js.Blob.new([to_js(png)]).stream())
            result = await self.env.IMAGES.input(js.Blob.new([to_js(png)]).stream()).transform({"width": 2}).output({"format": "image/webp"})
            webp = await result.response().bytes()
            try:
                self.env.IMAGES.input(js.Blob.new([to_js(png)]).stream()).transform({"width": 20000})
                too_wide = None
            except Exception as error:
                too_wide = str(error)
            return Response(json.dumps({
                "version": [self.env.VERSION.id, self.env.VERSION.tag, self.env.VERSION.timestamp],
                "limits": limits,
                "two_indexes": two_indexes,
                "info": {k: info[k] for k in ("format", "width", "height", "fileSize")},
                "webp": [result.contentType(), bytes(webp[:4]).decode(), bytes(webp[8:12]).decode()],
                "too_wide": too_wide,
                "wrapped": [isinstance(self.env.VECTORS, _BindingWrapper), isinstance(self.env.CERT, _FetcherWrapper)],
            }))
        if path == "cert":
            try:
                await self.env.CERT.fetch("https://example.com/")
            except Exception as error:
                return Response(str(error))
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

// A 3x2 PNG (the smallest images that tell width from height).
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAEElEQVR4nGP4z8AAQQxwFgBB0gX7h/C5SAAAAABJRU5ErkJggg==",
  "base64",
);

test("Rate Limiting, Analytics Engine, Version Metadata and Images work under production's class names", async () => {
  const seen = await (await fetch(`${worker.url}/emulated`, { method: "POST", body: PNG })).json();
  const [id, tag, timestamp] = seen.version;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(tag, "");
  assert.ok(!Number.isNaN(Date.parse(timestamp)));
  assert.deepEqual(seen.limits, [true, true, false]);
  assert.match(seen.two_indexes, /at most one index/);
  assert.deepEqual(seen.info, { format: "image/png", width: 3, height: 2, fileSize: PNG.length });
  assert.deepEqual(seen.webp, ["image/webp", "RIFF", "WEBP"]);
  assert.deepEqual(seen.wrapped, [true, true]);
  assert.match(seen.too_wide, /width must be a whole number of pixels from 1 to 12000/);
});

test("a Vectorize index that was never created is named at start-up, and using it says how to create it", async () => {
  assert.match(worker.output(), /Vectorize VECTORS: index "embeddings" not created yet/);
  const body = await (await fetch(`${worker.url}/vectors`)).json();
  assert.equal(body.declared, true);
  assert.match(body.error, /VECTOR_QUERY_ERROR: vectorize index "embeddings" not found; create it: node runtime\/bin\/vectorize.mjs create embeddings/);
});

test("a binding that is not emulated is named at start-up and raises on use", async () => {
  assert.match(worker.output(), /binding "CERT" \(mTLS certificate, \[mtls_certificates\]\) is declared but not emulated locally/);
  assert.doesNotMatch(worker.output(), /"VERSION"|"LIMITER"|"EVENTS"|"IMAGES"/);
  assert.match(await (await fetch(`${worker.url}/cert`)).text(), /binding "CERT" \(mTLS certificate\) is not emulated by the local runtime/);
  assert.doesNotMatch(worker.output(), /is used by the Worker but is not declared/);
});

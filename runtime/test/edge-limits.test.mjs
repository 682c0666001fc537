// The edge's request-body limit (issue 11, item 7): on a Free or Pro zone Cloudflare answers a
// body over 100 MB with its own 413 before any Worker runs (docs: workers/platform/limits,
// "Request limits"); the runtime reads "MB" as 10^8 bytes, the stricter of the two readings.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const LIMIT = 100_000_000;

const COUNTING = `
from workers import Response, WorkerEntrypoint

CALLS = {"n": 0}


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        if request.method == "GET":
            return Response(str(CALLS["n"]))
        CALLS["n"] += 1
        received = 0
        reader = request.body.getReader()
        while True:
            chunk = await reader.read()
            if chunk.done:
                break
            received += chunk.value.byteLength
        return Response(str(received))
`;

// Sends `size` bytes of zeros, with a Content-Length unless `chunked`; resolves with what came back.
function send(url, size, { chunked = false, declared = size } = {}) {
  return new Promise((resolve, reject) => {
    const headers = chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(declared) };
    const request = http.request(url, { method: "POST", headers }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, type: response.headers["content-type"], body }));
    });
    request.on("error", reject);
    const block = Buffer.alloc(1024 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const piece = block.subarray(0, Math.min(block.length, size - sent));
        sent += piece.length;
        if (!request.write(piece)) return request.once("drain", pump);
      }
      request.end();
    };
    pump();
  });
}

describe("request bodies over the zone plan's limit get the edge's 413, and the Worker never runs", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ wrangler: wranglerToml({ name: "edge-limits" }), entry: COUNTING });
  });
  after(() => worker?.stop());

  const calls = async () => Number(await (await fetch(worker.url)).text());

  test("a declared length one byte over 100 MB is refused from the header alone", async () => {
    const before = await calls();
    const answer = await send(worker.url, 0, { declared: LIMIT + 1 }).catch((error) => ({ error }));
    assert.equal(answer.status, 413, JSON.stringify(answer));
    assert.equal(answer.type, "text/html");
    assert.match(answer.body, /413 Request Entity Too Large/);
    assert.equal(await calls(), before);
  });

  test("exactly 100 MB reaches the Worker whole", async () => {
    const answer = await send(worker.url, LIMIT);
    assert.deepEqual([answer.status, answer.body], [200, String(LIMIT)]);
  });

  test("a chunked body that passes 100 MB on the way is cut off with the edge's 413", async () => {
    const answer = await send(worker.url, LIMIT + 1024 * 1024, { chunked: true }).catch((error) => ({ error }));
    assert.equal(answer.status, 413, JSON.stringify(answer));
    assert.match(answer.body, /413 Request Entity Too Large/);
    // The Worker, which was reading, sees its body fail; the runtime logs the refusal once it ends.
    await worker.waitForOutput(/413 \(chunked body over the edge's 100000000 bytes\)/);
  });
});

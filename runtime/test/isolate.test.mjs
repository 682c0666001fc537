// Isolate parity (issue 11, item 7): a fatal interpreter error ends the isolate. workerd then
// fails what was running in it and starts the next request in a fresh isolate; before, this
// runtime hung every later request. Pyodide reports the fatal error through its on_fatal hook
// (pyodide src/js/api.ts, fatal_error) and can no longer be used after it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const WRANGLER = wranglerToml({ name: "isolate", durableObjects: { COUNTER: "Counter" } });

const ENTRY = `
import asyncio
import json
import uuid

from workers import DurableObject, Response, WorkerEntrypoint

ISOLATE = uuid.uuid4().hex  # a new value in each isolate


class Counter(DurableObject):
    async def add(self):
        count = (await self.ctx.storage.get("count") or 0) + 1
        await self.ctx.storage.put("count", count)
        return count


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = request.url.split("/", 3)[3]
        if path == "overflow":
            json.loads("[" * 200_000 + "]" * 200_000)  # overflows the WebAssembly stack: fatal
        if path == "overflow-after-wait-until":
            self.ctx.waitUntil(asyncio.sleep(3600))  # work that only the isolate's end stops
            json.loads("[" * 200_000 + "]" * 200_000)
        stub = self.env.COUNTER.get(self.env.COUNTER.idFromName("c"))
        return Response(json.dumps({"isolate": ISOLATE, "count": await stub.add()}))
`;

let worker;
before(async () => {
  worker = await startWorker({ wrangler: WRANGLER, entry: ENTRY });
});
after(() => worker?.stop());

async function get(path, timeoutMs = 30_000) {
  return fetch(`${worker.url}/${path}`, { signal: AbortSignal.timeout(timeoutMs) });
}

test("the request that kills the isolate fails; the next ones run in a fresh isolate", async () => {
  const first = await (await get("")).json();
  const fatal = await get("overflow");
  assert.equal(fatal.status, 500);
  await worker.waitForOutput(/the Python isolate was lost \(RangeError: Maximum call stack size exceeded\)/);
  const second = await (await get("")).json();
  assert.notEqual(second.isolate, first.isolate);
  // The Durable Object's storage outlives the isolate; its instance is made anew.
  assert.equal(second.count, first.count + 1);
  const third = await (await get("")).json();
  assert.equal(third.isolate, second.isolate);
});

test("waitUntil work of a lost isolate ends with it, as workerd cancels it", async () => {
  assert.equal((await get("overflow-after-wait-until")).status, 500);
  assert.equal((await get("")).status, 200); // a fresh isolate answers
  await worker.waitForOutput(/waitUntil task failed:\nthe Python isolate was lost to a fatal error/);
});

// Dispatch parity (issue 11, item 1): the runtime calls a Python Worker's handlers as workerd
// v1.20260822.1 does. src/pyodide/python-entrypoint-helper.ts calls only `fetch` and `test`
// relaxed (`isRelaxed = isFetch || prop === 'test'`); `queue` and `scheduled` go through
// introspection.py's `wrapper_func` strictly, with (event, env, ctx), and a class entrypoint's
// env and ctx are undefined (io/worker.c++), so Python sees None. RPC refuses handler names
// (api/worker-rpc.c++: "'X' is a reserved method and cannot be called over RPC.").
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const WRANGLER = wranglerToml({
  name: "dispatch",
  durableObjects: { COUNTER: "Counter" },
  extra: `
[[queues.producers]]
binding = "JOBS"
queue = "dispatch-jobs"

[[queues.consumers]]
queue = "dispatch-jobs"
max_batch_size = 10
max_batch_timeout = 1
max_retries = 0

[triggers]
crons = ["*/5 * * * *"]
`,
});

// Handlers with every argument workerd passes; each records what it received.
const STRICT = `
import json
from workers import DurableObject, Response, WorkerEntrypoint

SEEN = {}


class Counter(DurableObject):
    async def increment(self, by):
        return by + 1

    async def alarm(self, alarm_info=None):
        pass


class Default(WorkerEntrypoint):
    async def fetch(self, request, env, ctx):
        path = request.url.split("/", 3)[3]
        if path == "send":
            await self.env.JOBS.send({"n": 1})
            return Response("sent")
        if path == "rpc":
            stub = self.env.COUNTER.get(self.env.COUNTER.idFromName("a"))
            try:
                await stub.alarm()
            except Exception as error:
                reserved = str(error)
            return Response(json.dumps({"increment": await stub.increment(1), "alarm": reserved}))
        return Response(json.dumps({"fetch": [env is None, ctx is None], **SEEN}))

    async def queue(self, batch, env, ctx):
        SEEN["queue"] = [len(batch.messages), env is None, ctx is None]
        batch.ackAll()

    async def scheduled(self, controller, env, ctx):
        SEEN["scheduled"] = [controller.cron, env is None, ctx is None]
`;

// The signatures that pass a relaxed runtime and fail in production.
const NARROW = `
from workers import DurableObject, Response, WorkerEntrypoint


class Counter(DurableObject):
    pass


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        await self.env.JOBS.send({"n": 1})
        return Response("sent")

    async def queue(self, batch):
        batch.ackAll()

    async def scheduled(self, controller):
        pass
`;

async function poll(check, { timeoutMs = 20_000, what }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("handlers with workerd's signatures", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ wrangler: WRANGLER, entry: STRICT, args: ["--test-scheduled"] });
  });
  after(() => worker?.stop());

  test("fetch is relaxed and gets env and ctx as None", async () => {
    assert.deepEqual((await (await fetch(worker.url)).json()).fetch, [true, true]);
  });

  test("scheduled gets (controller, None, None)", async () => {
    assert.equal((await fetch(`${worker.url}/__scheduled?cron=*/5+*+*+*+*`)).status, 200);
    assert.deepEqual((await (await fetch(worker.url)).json()).scheduled, ["*/5 * * * *", true, true]);
  });

  test("a scheduled time no date can hold is refused with 400, before the Worker runs", async () => {
    for (const time of ["abc", "NaN", "1e20", "1.5", "253402300800000", "9007199254740993"]) {
      assert.equal((await fetch(`${worker.url}/__scheduled?time=${time}`)).status, 400, time);
    }
    assert.equal((await fetch(`${worker.url}/__scheduled?time=1795809836721`)).status, 200);
  });

  test("queue gets (batch, None, None)", async () => {
    await fetch(`${worker.url}/send`);
    const seen = await poll(async () => (await (await fetch(worker.url)).json()).queue, { what: "the queue handler" });
    assert.deepEqual(seen, [1, true, true]);
  });

  test("RPC methods are called; handler names are refused over RPC with workerd's message", async () => {
    const body = await (await fetch(`${worker.url}/rpc`)).json();
    assert.equal(body.increment, 2);
    assert.match(body.alarm, /'alarm' is a reserved method and cannot be called over RPC\./);
  });
});

describe("handlers with the narrow signatures a relaxed runtime accepted", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ wrangler: WRANGLER, entry: NARROW, args: ["--test-scheduled"] });
  });
  after(() => worker?.stop());

  const triggers = {
    scheduled: async () => assert.equal((await fetch(`${worker.url}/__scheduled`)).status, 500),
    queue: async () => assert.equal((await fetch(worker.url)).status, 200), // sends a message
  };
  for (const [handler, trigger] of Object.entries(triggers)) {
    test(`${handler}(self, event) fails as in production`, async () => {
      await trigger();
      const message = `Default.${handler}() takes 2 positional arguments but 4 were given`;
      await poll(() => worker.output().includes(message), { what: "the strict-call TypeError in the log" });
    });
  }
});

// Workflows with a Python WorkflowEntrypoint (issue 11, item 6): the runtime's engine keeps the
// contract of production's (docs: workflows/build/workers-api, sleeping-and-retrying): a step's
// result is kept once it succeeds, so a run replayed after a restart does not repeat it; retries
// follow the step's config; a NonRetryableError ends the instance "errored"; a step result over
// 1 MiB is refused (workflows/reference/limits); waitForEvent holds the instance "waiting" until
// sendEvent.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const ENTRY = `
import json
import uuid

from workers import Response, WorkerEntrypoint, WorkflowEntrypoint
from workers.workflows import NonRetryableError

STUBBORN = {"rounds": 0}  # the same isolate runs the workflow and the fetch handler


class Flow(WorkflowEntrypoint):
    async def run(self, event, step):
        mode = event["payload"]["mode"]
        if mode == "replay":
            @step.do("first")
            async def first():
                runs = int(await self.env.KV.get("first-runs") or "0") + 1
                await self.env.KV.put("first-runs", str(runs))
                return str(uuid.uuid4())

            token = await first()
            await step.sleep("nap", "4 seconds")
            return {"token": token, "runs": int(await self.env.KV.get("first-runs"))}
        if mode == "retry":
            @step.do("flaky", config={"retries": {"limit": 2, "delay": 0, "backoff": "constant"}})
            async def flaky(ctx):
                if ctx["attempt"] < 3:
                    raise ValueError("not yet")
                return ctx["attempt"]

            return {"attempt": await flaky()}
        if mode == "fatal":
            @step.do("fatal", config={"retries": {"limit": 5, "delay": 0, "backoff": "constant"}})
            async def fatal():
                raise NonRetryableError("stop here")

            return await fatal()
        if mode == "big":
            @step.do("big", config={"retries": {"limit": 0, "delay": 0, "backoff": "constant"}})
            async def big():
                return "x" * (2**20 + 1)

            return await big()
        if mode == "stubborn":
            while True:  # catches everything, as badly written code does: terminate still stops it
                try:
                    await step.sleep(f"nap-{STUBBORN['rounds']}", "50 milliseconds")
                except BaseException:
                    pass
                STUBBORN["rounds"] += 1
        if mode == "event":
            got = await step.wait_for_event("approval", "approve", timeout="1 minute")
            return {"approved": got["payload"]["ok"]}


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        parts = request.url.split("/", 3)[3].split("/")
        if parts[0] == "create":
            try:
                instance = await self.env.FLOW.create({"id": parts[2], "params": {"mode": parts[1]}})
            except Exception as error:
                return Response(str(error), status=400)
            return Response(instance.id)
        instance = await self.env.FLOW.get(parts[1])
        if parts[0] == "terminate":
            await instance.terminate()
            return Response("terminated")
        if parts[0] == "rounds":
            return Response(str(STUBBORN["rounds"]))
        if parts[0] == "event":
            await instance.send_event({"type": "approve", "payload": {"ok": True}})
            return Response("sent")
        return Response(json.dumps(await instance.status()))
`;

const WRANGLER = wranglerToml({
  name: "workflows",
  extra: `
[[workflows]]
name = "flow"
binding = "FLOW"
class_name = "Flow"

[[kv_namespaces]]
binding = "KV"
id = "workflows-kv"
`,
});

describe("Workflows on the local runtime", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ wrangler: WRANGLER, entry: ENTRY });
  });
  after(() => worker?.stop());

  const get = async (path) => (await fetch(`${worker.url}/${path}`)).text();
  async function settle(id, until = ["complete", "errored", "terminated"]) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = JSON.parse(await get(`status/${id}`));
      if (until.includes(status.status) || Date.now() > deadline) return status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  test("retries follow the step's config, and a NonRetryableError ends the instance errored", async () => {
    await get("create/retry/r1");
    assert.deepEqual(await settle("r1"), { status: "complete", output: { attempt: 3 } });
    await get("create/fatal/f1");
    const fatal = await settle("f1");
    assert.equal(fatal.status, "errored");
    assert.match(fatal.error.message, /stop here/);
    // workflows/reference/limits: a step's result is at most 1 MiB.
    await get("create/big/b1");
    const big = await settle("b1");
    assert.equal(big.status, "errored");
    assert.match(big.error.message, /the limit is 1 MiB/);
  });

  test("waitForEvent holds the instance waiting until the event is sent", async () => {
    await get("create/event/e1");
    assert.equal((await settle("e1", ["waiting"])).status, "waiting");
    await get("event/e1");
    assert.deepEqual(await settle("e1"), { status: "complete", output: { approved: true } });
  });

  test("a terminated instance stops, even when its code catches every error", async () => {
    await get("create/stubborn/s1");
    await new Promise((resolve) => setTimeout(resolve, 600));
    await get("terminate/s1");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = Number(await get("rounds/s1"));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(Number(await get("rounds/s1")), after, "the loop went on after terminate()");
    assert.equal(JSON.parse(await get("status/s1")).status, "terminated");
  });

  test("instance ids are names, as production requires", async () => {
    const refused = await fetch(`${worker.url}/create/retry/has%20space`);
    assert.deepEqual([refused.status, await refused.text()], [400, "Error: Workflow instance has invalid id"]);
    assert.equal((await fetch(`${worker.url}/create/retry/ok_id-1`)).status, 200);
  });

  test("an instance sleeping through a restart resumes, and its finished step is not run again", async () => {
    await get("create/replay/p1");
    assert.equal((await settle("p1", ["waiting"])).status, "waiting");
    await worker.restart();
    const done = await settle("p1");
    assert.equal(done.status, "complete", JSON.stringify(done));
    assert.equal(done.output.runs, 1);
    assert.match(done.output.token, /^[0-9a-f-]{36}$/);
    // Instance ids are unique per workflow, across restarts: the Worker's create() raises.
    const again = await fetch(`${worker.url}/create/replay/p1`);
    assert.deepEqual([again.status, await again.text()], [400, "Error: instance.already_exists"]);
  });
});

// Durable Object ids keep their names across restarts (issue 11, item 6): an object that
// restoreAlarms() wakes up after a restart was registered from its file, by hex id alone, and
// answered `ctx.id.name` as None; production's ids made by idFromName() always carry the name.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const ENTRY = `
import js
from workers import DurableObject, Response, WorkerEntrypoint


class Named(DurableObject):
    async def schedule(self):
        await self.ctx.storage.setAlarm(js.Date.now() + 3_600_000)  # keeps the object known to restarts
        return self.ctx.id.name

    async def who(self):
        return self.ctx.id.name

    async def alarm(self, alarm_info=None):
        pass


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        stub = self.env.NAMED.get(self.env.NAMED.idFromName("alpha"))
        if request.url.endswith("/schedule"):
            return Response(str(await stub.schedule()))
        return Response(str(await stub.who()))
`;

let worker;
before(async () => {
  worker = await startWorker({ wrangler: wranglerToml({ name: "ids", durableObjects: { NAMED: "Named" } }), entry: ENTRY });
});
after(() => worker?.stop());

test("an object woken up for its alarm after a restart still knows its name", async () => {
  assert.equal(await (await fetch(`${worker.url}/schedule`)).text(), "alpha", worker.output());
  await worker.restart();
  assert.equal(await (await fetch(worker.url)).text(), "alpha", worker.output());
});

// D1 sessions (issue 11, item 6) as workerd's D1 binding has them (src/cloudflare/internal/
// d1-api.ts): withSession() gives a D1DatabaseSession whose getBookmark() is null until a query
// has run, then the newest bookmark D1 answered with; a session opened from that bookmark sees
// the writes before it. Miniflare's D1 answers every query with its current bookmark.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const ENTRY = `
import json
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        db = self.env.DB
        await db.prepare("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)").run()
        session = db.withSession()
        seen = {"before": session.getBookmark()}
        await session.prepare("INSERT INTO notes (text) VALUES (?)").bind("one").run()
        first = session.getBookmark()
        await session.batch([session.prepare("INSERT INTO notes (text) VALUES (?)").bind("two")])
        second = session.getBookmark()
        later = db.withSession(second)
        rows = (await later.prepare("SELECT COUNT(*) AS n FROM notes").first())["n"]
        seen.update({"first": first, "second": second, "rows": rows, "later": later.getBookmark(),
                     "primary": db.withSession("first-primary").getBookmark()})
        return Response(json.dumps(seen))
`;

let worker;
before(async () => {
  const wrangler = wranglerToml({ name: "d1-sessions", extra: '\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "s"\ndatabase_id = "sessions-db"\n' });
  worker = await startWorker({ wrangler, entry: ENTRY });
});
after(() => worker?.stop());

test("a D1 session starts without a bookmark and moves to newer ones as it queries", async () => {
  const seen = await (await fetch(worker.url)).json();
  const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
  assert.equal(seen.before, null);
  assert.equal(seen.primary, null);
  assert.match(seen.first, BOOKMARK);
  assert.match(seen.second, BOOKMARK);
  assert.ok(seen.first.localeCompare(seen.second) < 0, `${seen.first} then ${seen.second}`);
  assert.equal(seen.rows, 2);
  assert.ok(seen.later.localeCompare(seen.second) >= 0);
});

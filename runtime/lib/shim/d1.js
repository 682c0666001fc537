// D1 statements arrive as {sql, params} and run on miniflare's real D1. With `session` (a
// constraint or a bookmark) they run in a D1 session and the answer carries its new bookmark.
import { json } from "./respond.js";

const prepare = (db, { sql, params }) => db.prepare(sql).bind(...params);

export async function d1(db, op, args) {
  if (args.session === undefined) return run(db, op, args);
  const session = db.withSession(args.session);
  const answer = await run(session, op, args);
  return json({ result: await answer.json(), bookmark: session.getBookmark() });
}

async function run(db, op, args) {
  switch (op) {
    case "first":
      return json(await prepare(db, args.statement).first(args.column ?? undefined));
    case "all":
      return json(await prepare(db, args.statement).all());
    case "run":
      return json(await prepare(db, args.statement).run());
    case "raw":
      return json(await prepare(db, args.statement).raw({ columnNames: args.columnNames }));
    case "batch":
      return json(await db.batch(args.statements.map((s) => prepare(db, s))));
    case "exec":
      return json(await db.exec(args.sql));
    default:
      throw new Error(`unknown D1 operation ${op}`);
  }
}

// D1 migrations are applied at start-up as `wrangler d1 migrations apply` applies them: each file
// is split into statements (a trigger's BEGIN ... END body, quotes and comments kept whole) and
// run as one batch, so a file that fails leaves nothing behind and is not recorded.
import assert from "node:assert/strict";
import { test } from "node:test";
import { splitSql } from "../lib/miniflare-host.mjs";

test("statements split at semicolons outside quotes, comments and trigger bodies", () => {
  const sql = `
    -- a comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT '--;', "odd;name" TEXT); /* block; comment */
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
      INSERT INTO b VALUES (CASE WHEN new.x = 'end;' THEN 1 ELSE 2 END);
      DELETE FROM c;
    END;
    CREATE VIRTUAL TABLE s USING fts5(x, content = 'a');
    SELECT 1`;
  const statements = splitSql(sql);
  assert.equal(statements.length, 4);
  assert.match(statements[0], /^CREATE TABLE a \(x TEXT DEFAULT '--;', "odd;name" TEXT\)$/);
  assert.match(statements[1], /^CREATE TRIGGER t .* DELETE FROM c;\s+END$/s);
  assert.match(statements[2], /^CREATE VIRTUAL TABLE s/);
  assert.equal(statements[3], "SELECT 1");
});

test("BEGIN outside a trigger does not swallow what follows", () => {
  assert.deepEqual(splitSql("BEGIN TRANSACTION; SELECT 2; COMMIT;"), ["BEGIN TRANSACTION", "SELECT 2", "COMMIT"]);
});

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { DurableObjectStorage } from "../lib/bindings/do-storage.mjs";

function open(file, onAlarmChange = () => {}) {
  return new DurableObjectStorage(file, { onAlarmChange });
}

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "do-")), "object.sqlite");

test("sql.exec is synchronous and returns a cursor", () => {
  const storage = open(tmpFile());
  storage.sql.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)");
  const write = storage.sql.exec("INSERT INTO t VALUES (?, ?), (?, ?)", "a", 1, "b", null);
  assert.equal(write.rowsWritten, 2);
  const cursor = storage.sql.exec("SELECT k, v FROM t ORDER BY k");
  assert.deepEqual(cursor.columnNames, ["k", "v"]);
  assert.deepEqual(cursor.toArray(), [{ k: "a", v: 1 }, { k: "b", v: null }]);
  assert.deepEqual([...storage.sql.exec("SELECT k FROM t ORDER BY k").raw()], [["a"], ["b"]]);
  assert.throws(() => storage.sql.exec("SELECT k FROM t").one(), /multiple results/);
  assert.deepEqual(storage.sql.exec("SELECT COUNT(*) AS n FROM t").one(), { n: 2 });
  storage.close();
});

test("several statements in one exec all run", () => {
  const storage = open(tmpFile());
  storage.sql.exec("CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO b VALUES (1);");
  assert.deepEqual(storage.sql.exec("SELECT y FROM b").toArray(), [{ y: 1 }]);
  storage.close();
});

test("key-value API keeps structured values and persists with the file", async () => {
  const file = tmpFile();
  const storage = open(file);
  await storage.put("when", new Date(0));
  await storage.put({ a: { n: 1 }, b: [1, 2] });
  assert.deepEqual(await storage.get(["a", "b", "missing"]), new Map([["a", { n: 1 }], ["b", [1, 2]]]));
  assert.deepEqual([...(await storage.list({ prefix: "a" })).keys()], ["a"]);
  assert.equal(await storage.delete("a"), true);
  storage.close();
  const reopened = open(file);
  assert.equal((await reopened.get("when")).getTime(), 0);
  assert.equal(await reopened.get("a"), undefined);
  reopened.close();
});

test("alarms are stored and reported", async () => {
  const seen = [];
  const storage = open(tmpFile(), (time) => seen.push(time));
  await storage.setAlarm(1234);
  assert.equal(await storage.getAlarm(), 1234);
  await storage.deleteAlarm();
  assert.equal(await storage.getAlarm(), null);
  assert.deepEqual(seen, [1234, null]);
  storage.close();
});

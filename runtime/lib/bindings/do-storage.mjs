// Storage of one SQLite-backed Durable Object: one SQLite file per object id.
// Production's `ctx.storage.sql.exec()` is synchronous and Python code relies on that, so this
// uses better-sqlite3 (synchronous) in Node rather than an asynchronous store inside workerd.
// The key-value API lives in the same database, as it does in production.
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import Database from "better-sqlite3";

const KV_TABLE = "_cf_KV";
const META_TABLE = "_cf_METADATA";

function toSqlValue(value) {
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}

function fromSqlValue(value) {
  if (Buffer.isBuffer(value)) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  return value;
}

class SqlStorageCursor {
  constructor(columnNames, rows, rowsWritten) {
    this.columnNames = columnNames;
    this.rowsRead = rows.length;
    this.rowsWritten = rowsWritten;
    Object.defineProperty(this, "rows", { value: rows, enumerable: false });
    Object.defineProperty(this, "position", { value: 0, writable: true, enumerable: false });
  }
  #object(row) {
    return Object.fromEntries(this.columnNames.map((name, i) => [name, row[i]]));
  }
  next() {
    if (this.position >= this.rows.length) return { done: true, value: undefined };
    return { done: false, value: this.#object(this.rows[this.position++]) };
  }
  [Symbol.iterator]() {
    return this;
  }
  toArray() {
    return [...this];
  }
  one() {
    const remaining = this.rows.length - this.position;
    if (remaining !== 1) {
      throw new Error(remaining === 0 ? "Expected exactly one result from SQL query, but got no results." : "Expected exactly one result from SQL query, but got multiple results.");
    }
    return this.next().value;
  }
  raw() {
    const rows = this.rows.slice(this.position);
    this.position = this.rows.length;
    return rows[Symbol.iterator]();
  }
}

class SqlStorage {
  constructor(db) {
    Object.defineProperty(this, "db", { value: db, enumerable: false });
  }
  exec(query, ...bindings) {
    let statement;
    try {
      statement = this.db.prepare(query);
    } catch (error) {
      // Several statements in one string: production runs them all and returns the last cursor.
      if (!/more than one statement/.test(error.message) || bindings.length) throw error;
      this.db.exec(query);
      return new SqlStorageCursor([], [], 0);
    }
    const values = bindings.map(toSqlValue);
    if (statement.reader) {
      const columns = statement.columns().map((c) => c.name);
      const rows = statement.raw(true).all(...values).map((row) => row.map(fromSqlValue));
      return new SqlStorageCursor(columns, rows, 0);
    }
    const info = statement.run(...values);
    return new SqlStorageCursor([], [], info.changes);
  }
  get databaseSize() {
    const { page_count: pages } = this.db.prepare("PRAGMA page_count").get();
    const { page_size: size } = this.db.prepare("PRAGMA page_size").get();
    return pages * size;
  }
}

export class DurableObjectStorage {
  constructor(file, { onAlarmChange }) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.exec(`CREATE TABLE IF NOT EXISTS ${KV_TABLE} (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID`);
    db.exec(`CREATE TABLE IF NOT EXISTS ${META_TABLE} (name TEXT PRIMARY KEY, value)`);
    Object.defineProperty(this, "db", { value: db, enumerable: false });
    Object.defineProperty(this, "onAlarmChange", { value: onAlarmChange, enumerable: false });
    this.sql = new SqlStorage(db);
  }

  close() {
    this.db.close();
  }

  #getOne(key) {
    const row = this.db.prepare(`SELECT value FROM ${KV_TABLE} WHERE key = ?`).get(String(key));
    return row ? v8.deserialize(row.value) : undefined;
  }

  async get(keys) {
    if (!Array.isArray(keys)) return this.#getOne(keys);
    const result = new Map();
    for (const key of keys) {
      const value = this.#getOne(key);
      if (value !== undefined) result.set(key, value);
    }
    return result;
  }

  async put(keyOrEntries, value) {
    const insert = this.db.prepare(`INSERT OR REPLACE INTO ${KV_TABLE} (key, value) VALUES (?, ?)`);
    if (typeof keyOrEntries === "object" && keyOrEntries !== null) {
      this.db.transaction(() => {
        for (const [k, v] of Object.entries(keyOrEntries)) insert.run(k, v8.serialize(v));
      })();
      return;
    }
    insert.run(String(keyOrEntries), v8.serialize(value));
  }

  async delete(keys) {
    const del = this.db.prepare(`DELETE FROM ${KV_TABLE} WHERE key = ?`);
    if (!Array.isArray(keys)) return del.run(String(keys)).changes > 0;
    let count = 0;
    this.db.transaction(() => {
      for (const key of keys) count += del.run(String(key)).changes;
    })();
    return count;
  }

  async list({ prefix, start, startAfter, end, limit, reverse } = {}) {
    const where = [];
    const params = [];
    if (prefix !== undefined) {
      where.push("substr(key, 1, ?) = ?");
      params.push(prefix.length, prefix);
    }
    if (start !== undefined) where.push("key >= ?") && params.push(start);
    if (startAfter !== undefined) where.push("key > ?") && params.push(startAfter);
    if (end !== undefined) where.push("key < ?") && params.push(end);
    const sql = `SELECT key, value FROM ${KV_TABLE} ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY key ${reverse ? "DESC" : "ASC"} ${limit ? "LIMIT " + Number(limit) : ""}`;
    return new Map(this.db.prepare(sql).all(...params).map((row) => [row.key, v8.deserialize(row.value)]));
  }

  async deleteAll() {
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
    this.db.transaction(() => {
      for (const { name } of tables) {
        if (name === KV_TABLE) this.db.exec(`DELETE FROM "${name}"`);
        else if (name === META_TABLE) this.db.exec(`DELETE FROM "${name}" WHERE name != 'id_name'`); // the id keeps its name
        else this.db.exec(`DROP TABLE "${name}"`);
      }
    })();
    this.onAlarmChange(null);
  }

  transactionSync(fn) {
    return this.db.transaction(() => fn())();
  }

  async transaction(fn) {
    // Calls to one object are already serialised, so running the closure between BEGIN and
    // COMMIT cannot interleave with another request's writes.
    this.db.exec("BEGIN");
    try {
      const result = await fn(this);
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  // The name the object's id was made from (idFromName). Kept with the object, so that one a
  // restart wakes up for its alarm still has `ctx.id.name`, as production's objects do.
  idName() {
    return this.db.prepare(`SELECT value FROM ${META_TABLE} WHERE name = 'id_name'`).get()?.value ?? null;
  }

  rememberIdName(name) {
    this.db.prepare(`INSERT OR IGNORE INTO ${META_TABLE} (name, value) VALUES ('id_name', ?)`).run(name);
  }

  async getAlarm() {
    return this.db.prepare(`SELECT value FROM ${META_TABLE} WHERE name = 'alarm'`).get()?.value ?? null;
  }

  async setAlarm(scheduledTime) {
    const time = scheduledTime instanceof Date ? scheduledTime.getTime() : Number(scheduledTime);
    this.db.prepare(`INSERT OR REPLACE INTO ${META_TABLE} (name, value) VALUES ('alarm', ?)`).run(time);
    this.onAlarmChange(time);
  }

  async deleteAlarm() {
    this.db.prepare(`DELETE FROM ${META_TABLE} WHERE name = 'alarm'`).run();
    this.onAlarmChange(null);
  }

  async sync() {}
}

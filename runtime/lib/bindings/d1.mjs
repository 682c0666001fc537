// D1 for the Python Worker: statements are prepared and bound here (pure data, synchronous as in
// production) and run by miniflare's real D1 through the shim worker's bridge, one round trip
// per query or batch.
import { decode } from "../shim/codec.js";

function checkValue(value) {
  // Production refuses undefined; it is what Python's None becomes when the SDK does not
  // recognise the binding, so keeping the error keeps that mistake visible.
  if (value === undefined) throw new Error("D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'");
  return value;
}

// d1/platform/limits: a string, BLOB or row is at most 2,000,000 bytes. Miniflare's SQLite
// (workerd's src/workerd/util/sqlite.c++) allows 4 MiB, so the runtime checks the bound values
// itself, with SQLite's own error, as D1 reports it.
const MAX_VALUE_BYTES = 2_000_000;

function checkSizes(statements) {
  for (const { params } of statements) {
    for (const value of params) {
      const size = typeof value === "string" ? Buffer.byteLength(value) : (value?.byteLength ?? 0);
      if (size > MAX_VALUE_BYTES) throw new Error("D1_ERROR: string or blob too big: SQLITE_TOOBIG");
    }
  }
}

export class D1PreparedStatement {
  #execute;
  constructor(execute, sql, params = []) {
    this.#execute = execute;
    this.sql = sql;
    this.params = params;
  }
  bind(...values) {
    return new D1PreparedStatement(this.#execute, this.sql, values.map(checkValue));
  }
  first(column) {
    return this.#execute("first", { statement: this.toJSON(), column });
  }
  all() {
    return this.#execute("all", { statement: this.toJSON() });
  }
  run() {
    return this.#execute("run", { statement: this.toJSON() });
  }
  raw(options) {
    return this.#execute("raw", { statement: this.toJSON(), columnNames: options?.columnNames ?? false });
  }
  toJSON() {
    return { sql: this.sql, params: this.params };
  }
}

export class D1Database {
  #execute;
  constructor(bridge, binding) {
    this.#execute = async (op, args) => {
      checkSizes(args.statements ?? (args.statement ? [args.statement] : []));
      return decode(await bridge.call("d1", binding, op, args));
    };
  }
  prepare(sql) {
    return new D1PreparedStatement(this.#execute, sql);
  }
  batch(statements) {
    return this.#execute("batch", { statements: [...statements].map((s) => s.toJSON()) });
  }
  exec(sql) {
    return this.#execute("exec", { sql });
  }
  withSession(constraintOrBookmark) {
    return new D1DatabaseSession(this.#execute, constraintOrBookmark);
  }
}

// A D1 session (workerd: src/cloudflare/internal/d1-api.ts): it starts from a constraint or a
// bookmark, sends it with each query, and keeps the newest bookmark D1 answers with (bookmarks
// compare as strings). getBookmark() is null until a query has run under a constraint.
const CONSTRAINTS = new Set(["first-unconstrained", "first-primary"]);

export class D1DatabaseSession {
  #execute;
  #token;
  constructor(execute, constraintOrBookmark) {
    const token = String(constraintOrBookmark ?? "").trim();
    this.#token = token === "" ? "first-unconstrained" : token;
    this.#execute = async (op, args) => {
      const { result, bookmark } = await execute(op, { ...args, session: this.#token });
      if (bookmark && (CONSTRAINTS.has(this.#token) || this.#token.localeCompare(bookmark) < 0)) this.#token = bookmark;
      return result;
    };
  }
  prepare(sql) {
    return new D1PreparedStatement(this.#execute, sql);
  }
  batch(statements) {
    return this.#execute("batch", { statements: [...statements].map((s) => s.toJSON()) });
  }
  getBookmark() {
    return CONSTRAINTS.has(this.#token) ? null : this.#token;
  }
}

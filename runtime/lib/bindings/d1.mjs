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
    this.#execute = async (op, args) => decode(await bridge.call("d1", binding, op, args));
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
  withSession() {
    return this;
  }
  getBookmark() {
    return null;
  }
}

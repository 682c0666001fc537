import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encode } from "../lib/shim/codec.js";

test("binary, dates and headers survive a JSON round trip", () => {
  const value = {
    bytes: new Uint8Array([0, 1, 255]),
    buffer: new Uint8Array([9, 8]).buffer,
    when: new Date("2026-01-02T03:04:05.000Z"),
    headers: new Headers({ "if-none-match": '"abc"' }),
    nested: [{ n: 1, s: "x", nothing: null }],
  };
  const back = decode(JSON.parse(JSON.stringify(encode(value))));
  assert.deepEqual([...back.bytes], [0, 1, 255]);
  assert.deepEqual([...new Uint8Array(back.buffer)], [9, 8]);
  assert.equal(back.when.toISOString(), "2026-01-02T03:04:05.000Z");
  assert.equal(back.headers.get("if-none-match"), '"abc"');
  assert.deepEqual(back.nested, [{ n: 1, s: "x", nothing: null }]);
});

test("undefined object fields are dropped, not turned into null", () => {
  assert.deepEqual(encode({ a: undefined, b: 1 }), { b: 1 });
});

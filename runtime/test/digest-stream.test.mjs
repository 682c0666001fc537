// crypto.DigestStream as workerd has it (src/workerd/api/crypto/crypto.c++): bytes, views and
// strings hashed in order, `digest` settled on close, unknown algorithms refused.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { DigestStream } from "../lib/digest-stream.mjs";

test("digests what is written, whatever the chunking", async () => {
  const data = Buffer.from("hello, streaming world".repeat(1000));
  const stream = new DigestStream("SHA-256");
  const writer = stream.getWriter();
  await writer.write(data.subarray(0, 7));
  await writer.write(new Uint8Array(data.subarray(7, 5000)));
  await writer.write(data.buffer.slice(data.byteOffset + 5000, data.byteOffset + data.length));
  await writer.close();
  const digest = Buffer.from(await stream.digest);
  assert.equal(digest.toString("hex"), createHash("sha256").update(data).digest("hex"));
  assert.equal(stream.bytesWritten, data.length);
});

test("names are case-insensitive, objects with a name work, MD5 is offered", async () => {
  for (const [name, node] of [["sha-1", "sha1"], [{ name: "SHA-512" }, "sha512"], ["md5", "md5"]]) {
    const stream = new DigestStream(name);
    const writer = stream.getWriter();
    await writer.write("text");
    await writer.close();
    assert.equal(Buffer.from(await stream.digest).toString("hex"), createHash(node).update("text").digest("hex"));
  }
});

test("an unknown algorithm is NotSupportedError; a non-byte chunk errors the stream", async () => {
  assert.throws(() => new DigestStream("SHA-3"), { name: "NotSupportedError" });
  assert.throws(() => new DigestStream("crc32"), { name: "NotSupportedError" });
  const stream = new DigestStream("SHA-256");
  const writer = stream.getWriter();
  await assert.rejects(writer.write({ not: "bytes" }), TypeError);
  await assert.rejects(stream.digest);
});

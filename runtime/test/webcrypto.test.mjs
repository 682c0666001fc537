// WebCrypto as workerd limits it (runtime/lib/webcrypto.mjs; workerd src/workerd/api/crypto/pbkdf2.c++ and impl.c++ checkPbkdfLimits).
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";

import { runInvocation, Trace, useMeter } from "../lib/observe.mjs";
import { limitWebCrypto, MAX_PBKDF2_ITERATIONS } from "../lib/webcrypto.mjs";

async function derive(subtle, iterations) {
  const key = await subtle.importKey("raw", new TextEncoder().encode("hunter22"), "PBKDF2", false, ["deriveBits", "deriveKey"]);
  return subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(16), iterations }, key, 256);
}

test("PBKDF2 above 100,000 iterations is refused with workerd's NotSupportedError; up to it derives as before", async () => {
  const subtle = Object.create(webcrypto.subtle);
  for (const name of ["importKey", "deriveBits", "deriveKey"]) subtle[name] = webcrypto.subtle[name].bind(webcrypto.subtle);
  limitWebCrypto(subtle);
  const allowed = await derive(subtle, MAX_PBKDF2_ITERATIONS);
  assert.deepEqual(new Uint8Array(allowed), new Uint8Array(await derive(webcrypto.subtle, MAX_PBKDF2_ITERATIONS)));
  await assert.rejects(derive(subtle, MAX_PBKDF2_ITERATIONS + 1), (error) => {
    assert.equal(error.name, "NotSupportedError");
    assert.equal(error.message, "Pbkdf2 failed: iteration counts above 100000 are not supported (requested 100001).");
    return true;
  });
  const key = await subtle.importKey("raw", new Uint8Array(8), "PBKDF2", false, ["deriveKey"]);
  await assert.rejects(
    subtle.deriveKey({ name: "pbkdf2", hash: "SHA-256", salt: new Uint8Array(16), iterations: 600_000 }, key, { name: "AES-GCM", length: 256 }, false, ["encrypt"]),
    { name: "NotSupportedError" },
  );
});

test("a derivation is charged to the invocation that asked for it (workerd runs it on the isolate's thread)", async () => {
  const subtle = Object.create(webcrypto.subtle);
  for (const name of ["importKey", "deriveBits", "deriveKey"]) subtle[name] = webcrypto.subtle[name].bind(webcrypto.subtle);
  limitWebCrypto(subtle);
  const charged = [];
  useMeter({ run: (trace, fn) => fn(), charge: (trace, micros) => charged.push([trace, micros]) });
  try {
    const trace = new Trace("fetch", "GET /d/token");
    const started = process.hrtime.bigint();
    await runInvocation(trace, () => derive(subtle, MAX_PBKDF2_ITERATIONS));
    const elapsed = Number(process.hrtime.bigint() - started) / 1000;
    assert.equal(charged.length, 1);
    assert.equal(charged[0][0], trace);
    assert.ok(charged[0][1] > 0 && charged[0][1] <= elapsed, `${charged[0][1]} of ${elapsed} µs`);
    await derive(subtle, 1000); // outside any invocation: nobody is charged
    assert.equal(charged.length, 1);
  } finally {
    useMeter(null);
  }
});

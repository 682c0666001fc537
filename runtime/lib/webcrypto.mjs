// WebCrypto as workerd limits it. workerd refuses PBKDF2 with more than 100,000 iterations
// (src/workerd/api/crypto/pbkdf2.c++ -> checkPbkdfLimits in impl.c++; standalone workerd lifts the
// limit, Cloudflare's keeps 100,000: "Pbkdf2 failed: iteration counts above 100000 are not
// supported (requested N)."), where Node derives any count: without this a Worker that hashes
// passwords with more would pass here and fail every call in production. And workerd derives on
// the isolate's thread, so the time is the Worker's CPU; Node derives in its thread pool, where
// the invocation's meter would not see it: the derivation's time is charged to it.
import { chargeCpu } from "./observe.mjs";

export const MAX_PBKDF2_ITERATIONS = 100_000;

function refusal(algorithm) {
  const name = typeof algorithm === "string" ? algorithm : algorithm?.name;
  if (typeof name !== "string" || name.toUpperCase() !== "PBKDF2") return null;
  const iterations = Number(algorithm.iterations);
  if (!(iterations > MAX_PBKDF2_ITERATIONS)) return null;
  return new DOMException(
    `Pbkdf2 failed: iteration counts above ${MAX_PBKDF2_ITERATIONS} are not supported (requested ${iterations}).`,
    "NotSupportedError",
  );
}

export function limitWebCrypto(subtle = globalThis.crypto.subtle) {
  if (subtle.limitedLikeWorkerd) return;
  for (const method of ["deriveBits", "deriveKey"]) {
    const original = subtle[method].bind(subtle);
    Object.defineProperty(subtle, method, {
      value: async (algorithm, ...rest) => {
        const error = refusal(algorithm);
        if (error) throw error;
        const started = process.hrtime.bigint();
        try {
          return await original(algorithm, ...rest);
        } finally {
          // Wall time of the derivation: at least its CPU time (stricter, never more lenient).
          chargeCpu(Number(process.hrtime.bigint() - started) / 1000);
        }
      },
      configurable: true,
      writable: true,
    });
  }
  Object.defineProperty(subtle, "limitedLikeWorkerd", { value: true });
}

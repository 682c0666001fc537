// WebCrypto as workerd limits it. workerd refuses PBKDF2 with more than 100,000 iterations
// (src/workerd/api/crypto/pbkdf2.c++: "Pbkdf2 failed: iteration counts above 100000 are not
// supported (requested N)."), where Node derives any count: without this a Worker that hashes
// passwords with more would pass here and fail every call in production.
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
      value: (algorithm, ...rest) => {
        const error = refusal(algorithm);
        return error ? Promise.reject(error) : original(algorithm, ...rest);
      },
      configurable: true,
      writable: true,
    });
  }
  Object.defineProperty(subtle, "limitedLikeWorkerd", { value: true });
}

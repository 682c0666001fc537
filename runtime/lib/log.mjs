// One place for the runtime's own output, so every line carries the same prefix.
const started = performance.now();

export function log(message) {
  process.stdout.write(`[pyworker] ${message}\n`);
}

export function logError(message) {
  process.stderr.write(`[pyworker] ${message}\n`);
}

// Runs one start-up step and logs it with its duration, so slow steps are visible.
export async function step(label, fn) {
  const t0 = performance.now();
  const result = await fn();
  log(`${label} ... ${Math.round(performance.now() - t0)} ms`);
  return result;
}

export function sinceStart() {
  return Math.round(performance.now() - started);
}

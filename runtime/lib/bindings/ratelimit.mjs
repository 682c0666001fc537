// The Rate Limiting binding (`[[ratelimits]]`, workerd's `Ratelimit`): `limit({key})` answers
// `{success}` from a per-key counter over `simple.period` seconds (10 or 60, as wrangler and the
// API accept). Production counts per Cloudflare location and is eventually consistent; one
// process is one location, so the count here is exact, never looser.
const PERIODS = new Set([10, 60]);

export class RatelimitConfigError extends Error {}

export class Ratelimit {
  #windows = new Map();

  constructor({ binding, limit, period }) {
    if (!Number.isInteger(limit) || limit < 1) throw new RatelimitConfigError(`ratelimit ${binding}: simple.limit must be a positive integer`);
    if (!PERIODS.has(period)) throw new RatelimitConfigError(`ratelimit ${binding}: simple.period must be 10 or 60`);
    Object.defineProperty(this, "settings", { value: { limit, periodMs: period * 1000 }, enumerable: false });
  }

  async limit(options) {
    const key = options?.key;
    if (typeof key !== "string" || key === "") throw new TypeError("limit() needs a non-empty string key");
    const { limit, periodMs } = this.settings;
    const start = Math.floor(Date.now() / periodMs) * periodMs;
    const window = this.#windows.get(key);
    const count = window?.start === start ? window.count + 1 : 1;
    this.#windows.set(key, { start, count });
    if (this.#windows.size > 100_000) this.#forget(start);
    return { success: count <= limit };
  }

  #forget(currentStart) {
    for (const [key, window] of this.#windows) if (window.start < currentStart) this.#windows.delete(key);
  }
}

// Workers KV for the Python Worker: miniflare's real KV through the shim worker's bridge.
// Values cross as bytes and are turned into the requested type here.
import { registerKnownLength } from "../streams.mjs";
import { bridgeError, readBytes, readText, RESULT_HEADER } from "./bridge.mjs";

const TYPES = new Set(["text", "json", "arrayBuffer", "stream"]);

function typeOf(typeOrOptions) {
  const type = (typeof typeOrOptions === "string" ? typeOrOptions : typeOrOptions?.type) ?? "text";
  if (!TYPES.has(type)) throw new TypeError(`Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".`);
  return type;
}

async function convert(response, type) {
  if (type === "stream") return registerKnownLength(ReadableStream.from(response), Number(response.headers["content-length"]));
  if (type === "arrayBuffer") return readBytes(response);
  const text = await readText(response);
  return type === "json" ? JSON.parse(text) : text;
}

// kv/platform/limits: one write per second to the same key; writing faster "may" get workerd's
// KV error, "KV PUT failed: 429 Too Many Requests" (src/workerd/api/kv.c++ formats KV errors).
// Production tolerates a short burst (Cloudflare's own binding suite writes a key twice in a
// row), so the rule here is deterministic: a third PUT to one key within a second is refused.
// Miniflare does not enforce it at all.
const WRITE_WINDOW_MS = 1000;
const WRITES_PER_WINDOW = 2;

export class KvNamespace {
  #recentWrites = new Map();

  constructor(bridge, binding) {
    Object.defineProperty(this, "bridge", { value: bridge, enumerable: false });
    Object.defineProperty(this, "binding", { value: binding, enumerable: false });
  }

  async #write(key, write) {
    const now = performance.now();
    const recent = (this.#recentWrites.get(key) ?? []).filter((at) => now - at < WRITE_WINDOW_MS);
    if (recent.length >= WRITES_PER_WINDOW) throw new Error("KV PUT failed: 429 Too Many Requests");
    await write();
    recent.push(performance.now());
    this.#recentWrites.set(key, recent);
    if (this.#recentWrites.size > 10_000) this.#forgetOldWrites();
  }

  #forgetOldWrites() {
    const cutoff = performance.now() - WRITE_WINDOW_MS;
    for (const [key, times] of this.#recentWrites) if (times.every((at) => at < cutoff)) this.#recentWrites.delete(key);
  }

  async #fetch(key, typeOrOptions) {
    const type = typeOf(typeOrOptions);
    const cacheTtl = typeof typeOrOptions === "object" ? typeOrOptions?.cacheTtl : undefined;
    const response = await this.bridge.send("kv", this.binding, "get", { key, cacheTtl });
    if (response.statusCode === 404) {
      response.resume();
      return { value: null, metadata: null };
    }
    if (response.statusCode >= 400) throw bridgeError(JSON.parse((await readText(response)) || "{}"), "KV get failed");
    const metadata = JSON.parse(response.headers[RESULT_HEADER] ?? "null");
    return { value: await convert(response, type), metadata };
  }

  async get(key, typeOrOptions) {
    if (Array.isArray(key)) {
      const entries = await Promise.all(key.map(async (k) => [k, (await this.#fetch(k, typeOrOptions)).value]));
      return new Map(entries);
    }
    return (await this.#fetch(key, typeOrOptions)).value;
  }

  async getWithMetadata(key, typeOrOptions) {
    return { ...(await this.#fetch(key, typeOrOptions)), cacheStatus: null };
  }

  async put(key, value, options) {
    const { expiration, expirationTtl, metadata } = options ?? {};
    await this.#write(key, () =>
      this.bridge.call("kv", this.binding, "put", { key, options: { expiration, expirationTtl, metadata } }, value ?? ""),
    );
  }

  async delete(key) {
    await this.bridge.call("kv", this.binding, "delete", { key });
  }

  async list(options) {
    const { prefix, limit, cursor } = options ?? {};
    return this.bridge.call("kv", this.binding, "list", { options: { prefix, limit, cursor } });
  }
}

// The `env` and execution contexts the Python Worker receives, built from wrangler.toml.
import { logError } from "./log.mjs";
import { randomUUID } from "node:crypto";
import { Ai } from "./bindings/ai.mjs";
import { AnalyticsEngineDataset } from "./bindings/analytics-engine.mjs";
import { ImagesBindingImpl } from "./bindings/images.mjs";
import { Ratelimit } from "./bindings/ratelimit.mjs";
import { DurableObjectNamespace } from "./bindings/durable-objects.mjs";
import { D1Database } from "./bindings/d1.mjs";
import { KvNamespace } from "./bindings/kv.mjs";
import { WorkerQueue } from "./bindings/queue.mjs";
import { R2Bucket } from "./bindings/r2.mjs";
import { VectorizeIndex } from "./bindings/vectorize.mjs";
import { namedConstructor, wrapBinding } from "./bindings/wrap.mjs";

// Binding names are upper case by convention; other names (then, toJSON, length, ...) are what
// Pyodide and the SDK probe on any JS object, and asking for those is not using a binding.
const LOOKS_LIKE_BINDING = /^[A-Z][A-Z0-9_]*$/;

// Binding types served through the shim worker's bridge, by wrangler.toml section.
const BRIDGED = [
  ["d1", D1Database],
  ["kv", KvNamespace],
  ["queueProducers", WorkerQueue],
  ["r2", R2Bucket],
];

export function buildEnv({ config, devVars, bridge, persistRoot, python, vectorizeDelayMs }) {
  const env = { ...config.vars, ...devVars };
  for (const [section, Binding] of BRIDGED) {
    for (const { binding } of config[section]) {
      env[binding] = wrapBinding(new Binding(bridge, binding), { binding, type: Binding.name });
    }
  }
  const ai = config.ai
    ? new Ai({
        accountId: process.env.CLOUDFLARE_ACCOUNT_ID,
        apiToken: process.env.CLOUDFLARE_API_TOKEN,
        agreements: `${persistRoot}/v3/ai/agreements.json`,
      })
    : null;
  if (ai) env[config.ai.binding] = wrapBinding(ai, { binding: config.ai.binding, type: "Ai" });
  const namespaces = config.durableObjects.map(
    (d) =>
      new DurableObjectNamespace({
        binding: d.binding,
        className: d.className,
        scriptName: config.name,
        persistRoot: `${persistRoot}/v3`,
        python,
        env: () => proxied,
      }),
  );
  for (const namespace of namespaces) env[namespace.binding] = namespace;
  for (const r of config.ratelimits) env[r.binding] = wrapBinding(new Ratelimit(r), { binding: r.binding, type: "Ratelimit" });
  for (const { binding, indexName } of config.vectorize) {
    const index = new VectorizeIndex({ indexName, persistRoot, visibilityDelayMs: vectorizeDelayMs });
    env[binding] = wrapBinding(index, { binding, type: "VectorizeIndexImpl" });
  }
  for (const { binding, dataset } of config.analyticsEngine) {
    env[binding] = wrapBinding(new AnalyticsEngineDataset({ dataset }), { binding, type: "AnalyticsEngineDataset" });
  }
  if (config.images) {
    env[config.images.binding] = wrapBinding(new ImagesBindingImpl(), { binding: config.images.binding, type: "ImagesBindingImpl" });
  }
  // A plain object in production too: this version's id, tag and upload time.
  if (config.versionMetadata) env[config.versionMetadata.binding] = { id: randomUUID(), tag: "", timestamp: new Date().toISOString() };
  for (const { binding, type, className } of config.notEmulated) env[binding] = notEmulated(binding, type, className);

  const reported = new Set();
  const proxied = new Proxy(env, {
    get(target, prop) {
      if (typeof prop === "string" && !(prop in target) && LOOKS_LIKE_BINDING.test(prop) && !reported.has(prop)) {
        reported.add(prop);
        logError(`binding "${prop}" is used by the Worker but is not declared in ${config.path}`);
      }
      return Reflect.get(target, prop);
    },
  });
  return { env: proxied, namespaces, ai };
}

// A declared binding this runtime cannot emulate: present (so the Worker starts and `hasattr`
// holds, as in production), and any use of it raises an error that says why.
export class NotEmulatedError extends Error {
  constructor(binding, type) {
    super(`binding "${binding}" (${type}) is not emulated by the local runtime; test it against Cloudflare (wrangler dev --remote)`);
    this.name = "NotEmulatedError";
  }
}

const PROBED = new Set(["then", "toJSON", "valueOf", "toString"]);

function notEmulated(binding, type, className) {
  const fail = () => {
    throw new NotEmulatedError(binding, type);
  };
  return new Proxy(
    {},
    {
      get(_, prop) {
        if (prop === "constructor") return namedConstructor(className);
        if (typeof prop !== "string" || PROBED.has(prop)) return undefined;
        return fail; // a method, raising when called
      },
      set: fail,
      has: () => false,
    },
  );
}

// What `ctx` is in `Default(ctx, env)`: waitUntil work is tracked so it completes and failures
// are logged.
export class ExecutionContext {
  // `untilLost(promise)`: the promise, failing instead if the isolate running the work is lost.
  constructor(pending, untilLost) {
    Object.defineProperty(this, "pending", { value: pending, enumerable: false });
    Object.defineProperty(this, "untilLost", { value: untilLost, enumerable: false });
    this.props = {};
  }
  get [Symbol.toStringTag]() {
    return "ExecutionContext";
  }
  waitUntil(promise) {
    const tracked = this.untilLost(promise).catch((error) =>
      logError(`waitUntil task failed:\n${error?.message ?? error}`),
    );
    this.pending.add(tracked);
    tracked.finally(() => this.pending.delete(tracked));
  }
  passThroughOnException() {}
}

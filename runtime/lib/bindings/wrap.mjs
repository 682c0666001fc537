// Presents a binding object to Python the way workerd does, and observes every call on it.
//
// The workers SDK recognises bindings by their JS constructor name (D1Database, R2Bucket, ...)
// and only then converts Python arguments (None -> null, dict -> Object); without the right
// name, None reaches D1 as undefined. Each binding, and each object with methods that a binding
// returns (a prepared statement, a multipart upload), is wrapped in a Proxy whose `constructor`
// carries the production name. The same wrapper counts each call against the invocation's limits
// (limits.mjs), records it on the current trace and lets tests inject failures (observe.mjs).
import { chargeBindingCall } from "../limits.mjs";
import { asEngine, recordCall, takeFault } from "../observe.mjs";

const TARGET = Symbol("pyworker.target");
const constructors = new Map();

// Methods that return synchronously in production; all others return promises.
const SYNC_METHODS = {
  D1Database: new Set(["prepare", "withSession"]),
  D1DatabaseSession: new Set(["prepare", "getBookmark"]),
  D1PreparedStatement: new Set(["bind"]),
  R2Bucket: new Set(["resumeMultipartUpload"]),
  AnalyticsEngineDataset: new Set(["writeDataPoint"]),
  ImagesBindingImpl: new Set(["input", "text"]),
  ImageTransformerImpl: new Set(["transform", "draw"]),
};

// What a method's result is, where it is itself an object with methods.
const RESULT_TYPES = {
  D1Database: { prepare: "D1PreparedStatement", withSession: "D1DatabaseSession" },
  D1DatabaseSession: { prepare: "D1PreparedStatement" },
  D1PreparedStatement: { bind: "D1PreparedStatement" },
  R2Bucket: { createMultipartUpload: "R2MultipartUpload", resumeMultipartUpload: "R2MultipartUpload" },
  ImagesBindingImpl: { input: "ImageTransformerImpl" },
  ImageTransformerImpl: { transform: "ImageTransformerImpl" },
};

// Bindings whose service runs in this process only because it is emulated: its work is the
// engine's, not the Worker's (a brute-force Vectorize query would otherwise count as the Worker's
// CPU time). Bindings served by miniflare run in workerd's process already; the AI stand-in and
// Images stay charged, as their JSON and byte handling is the Worker's in production too.
const ENGINES = new Set(["VectorizeIndexImpl"]);

// Names that Pyodide and the SDK probe on any object; none of them is a binding method.
const NOT_METHODS = new Set(["then", "toJSON", "constructor", "valueOf", "toString"]);

export function namedConstructor(name) {
  if (!constructors.has(name)) {
    const fn = function () {};
    Object.defineProperty(fn, "name", { value: name });
    constructors.set(name, fn);
  }
  return constructors.get(name);
}

export function unwrap(value) {
  if (Array.isArray(value)) return value.map(unwrap);
  if (value !== null && (typeof value === "object" || typeof value === "function")) {
    const target = value[TARGET];
    if (target) return target;
  }
  return value;
}

function observedCall({ binding, type, method, fn, self, args }) {
  const sync = SYNC_METHODS[type]?.has(method) ?? false;
  // Each call that leaves the isolate is a subrequest of the invocation making it (limits.mjs).
  if (!sync) {
    try {
      chargeBindingCall(type, method, args);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const done = recordCall(binding, type, method, sync);
  const fault = takeFault(binding, method);
  if (fault) {
    done(false, fault);
    if (sync) throw fault;
    return Promise.reject(fault);
  }
  const wrapResult = (result) => {
    const resultType = RESULT_TYPES[type]?.[method];
    return resultType && result ? wrapBinding(result, { binding, type: resultType }) : result;
  };
  let result;
  try {
    const call = () => fn.apply(self, args.map(unwrap));
    result = ENGINES.has(type) ? asEngine(call) : call();
  } catch (error) {
    done(false, error);
    throw error;
  }
  if (!sync && result && typeof result.then === "function") {
    return result.then(
      (value) => {
        done(true);
        return wrapResult(value);
      },
      (error) => {
        done(false, error);
        throw error;
      },
    );
  }
  done(true);
  return wrapResult(result);
}

// `binding` is the env name (used by traces and fault targets), `type` the production class name.
export function wrapBinding(target, { binding, type }) {
  const methods = new Map();
  return new Proxy(target, {
    get(obj, prop) {
      if (prop === TARGET) return obj;
      if (prop === "constructor") return namedConstructor(type);
      if (prop === Symbol.toStringTag) return type;
      if (typeof prop !== "string" || NOT_METHODS.has(prop)) return undefined;
      const value = Reflect.get(obj, prop);
      if (typeof value !== "function") return value;
      if (!methods.has(prop)) {
        methods.set(prop, (...args) =>
          observedCall({ binding, type, method: prop, fn: value, self: obj, args }),
        );
      }
      return methods.get(prop);
    },
  });
}

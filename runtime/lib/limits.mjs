// Platform limits per invocation (a request, a queue batch, a cron run, an alarm), with the errors
// production gives. Values: Cloudflare docs workers/platform/limits, the 2025-03-25 changelog
// (CPU up to 5 min with `[limits] cpu_ms`), the 2026-02-11 changelog (subrequests: 10,000 on
// Paid, configurable with `[limits] subrequests`; Free 50 external plus 1,000 to Cloudflare
// services), d1/platform/limits (queries per invocation) and kv/platform/limits (operations).
//
// How they are counted here (what the README's "Differences from production" table repeats):
// - CPU is the time the invocation's own slices of the event loop hold the main thread
//   (AsyncLocalStorage tells which invocation a callback belongs to), so it includes the runtime's
//   work for that invocation: an upper bound of what the isolate would be charged.
// - Memory is the interpreter's WebAssembly memory, which holds every Python object and never
//   shrinks, plus a request body the invocation parsed whole with formData() (workerd reads the
//   body, then copies each part into a File: both at once while it parses); other JS objects a
//   Worker creates are not counted (they share the Node process's heap with the runtime).
import { createHook } from "node:async_hooks";
import { Worker } from "node:worker_threads";
import { currentTrace } from "./observe.mjs";

export const PLANS = {
  paid: { cpuMs: 30_000, maxCpuMs: 300_000, subrequests: 10_000, externalSubrequests: Infinity, d1Queries: 1_000, kvOperations: 1_000 },
  free: { cpuMs: 10, maxCpuMs: 10, subrequests: 1_000, externalSubrequests: 50, d1Queries: 50, kvOperations: 1_000 },
};

// 128 MB per isolate (docs: "Memory 128 MB"), read as 10^6 bytes: the stricter reading.
export const MEMORY_LIMIT_BYTES = 128_000_000;

// Production's texts. CPU and memory: what Workers Logs shows for an invocation that went over
// ("exceededCpu" / "exceededMemory" outcomes); Python code sees workerd's own exception first
// (src/pyodide/internal/introspection.py: CpuLimitExceeded("Python Worker exceeded CPU time
// limit"), raised by SIGXCPU). Subrequests and API requests: the messages Workers raise when a
// single invocation passes them, as reported from production.
export const MESSAGES = {
  cpu: "Worker exceeded CPU time limit.",
  memory: "Worker exceeded memory limit.",
  subrequests: "Too many subrequests by single Worker invocation. To configure this limit, refer to https://developers.cloudflare.com/workers/platform/limits/",
  api: "Too many API requests by single worker invocation.",
};

export class LimitError extends Error {}

// The limits for a Worker from its wrangler `[limits]` section and the account's plan.
export function limitsFor(rawLimits = {}, plan = "paid") {
  const base = PLANS[plan];
  if (!base) throw new LimitError(`--workers-plan must be one of ${Object.keys(PLANS).join(", ")}, got "${plan}"`);
  const limits = { plan, ...base, memoryBytes: MEMORY_LIMIT_BYTES };
  if (rawLimits.cpu_ms !== undefined) {
    const cpuMs = rawLimits.cpu_ms;
    if (plan === "free") throw new LimitError("[limits] cpu_ms cannot be set on the Workers Free plan");
    if (!Number.isInteger(cpuMs) || cpuMs < 1 || cpuMs > base.maxCpuMs) {
      throw new LimitError(`[limits] cpu_ms must be an integer from 1 to ${base.maxCpuMs}, got ${JSON.stringify(cpuMs)}`);
    }
    limits.cpuMs = cpuMs;
  }
  if (rawLimits.subrequests !== undefined) {
    const subrequests = rawLimits.subrequests;
    if (!Number.isInteger(subrequests) || subrequests < 1 || (plan === "paid" && subrequests > 10_000_000)) {
      throw new LimitError(`[limits] subrequests must be an integer from 1 to 10000000, got ${JSON.stringify(subrequests)}`);
    }
    // A lower value may always be set; Free cannot go above its own.
    limits.subrequests = Math.min(subrequests, plan === "free" ? base.subrequests : subrequests);
  }
  return limits;
}

// The limits this process enforces (one Worker per runtime process).
let enforced = null;
export function enforceLimits(limits) {
  enforced = limits;
}

// What a call on a binding costs, counted on the invocation whose code made it.
const D1_QUERY_METHODS = new Set(["all", "run", "first", "raw", "exec"]);

export function chargeBindingCall(type, method, args) {
  const trace = currentTrace();
  const limits = enforced;
  if (!trace || !limits) return;
  if (trace.exceeded) throw new Error(MESSAGES[trace.exceeded]);
  trace.subrequests += 1;
  if (trace.subrequests > limits.subrequests) throw new Error(MESSAGES.subrequests);
  if (type === "KvNamespace") {
    trace.kvOperations += 1;
    if (trace.kvOperations > limits.kvOperations) throw new Error(MESSAGES.api);
  }
  if (type === "D1PreparedStatement" || type === "D1Database" || type === "D1DatabaseSession") {
    const queries = method === "batch" ? (Array.isArray(args[0]) ? args[0].length : 1) : D1_QUERY_METHODS.has(method) ? 1 : 0;
    trace.d1Queries += queries;
    if (trace.d1Queries > limits.d1Queries) throw new Error(`D1_ERROR: ${MESSAGES.api}`);
  }
}

export function chargeExternalFetch() {
  const trace = currentTrace();
  const limits = enforced;
  if (!trace || !limits) return;
  if (trace.exceeded) throw new Error(MESSAGES[trace.exceeded]);
  trace.subrequests += 1;
  trace.externalSubrequests += 1;
  if (trace.subrequests > limits.subrequests || trace.externalSubrequests > limits.externalSubrequests) {
    throw new Error(MESSAGES.subrequests);
  }
}

const SIGXCPU = 24;
// Shared with the watchdog thread: [running (0/1), slice start (µs, epoch), budget (µs)], and a
// sequence number the main thread bumps around every write, so the watchdog never acts on a
// half-written slice.
const ACTIVE = 0;
const START = 1;
const BUDGET = 2;

const WATCHDOG = `
const { workerData } = require("node:worker_threads");
const signal = new Int32Array(workerData.signal);
const sequence = new Int32Array(workerData.sequence);
const slice = new Float64Array(workerData.slice);
const now = () => (performance.timeOrigin + performance.now()) * 1000;
setInterval(() => {
  const before = Atomics.load(sequence, 0);
  const over = slice[${ACTIVE}] === 1 && now() - slice[${START}] > slice[${BUDGET}];
  if (over && before % 2 === 0 && Atomics.load(sequence, 0) === before) Atomics.store(signal, 0, ${SIGXCPU});
}, 5);
`;

// Main-thread time, in µs since the epoch: the same clock in every thread. The time a slice of
// the event loop holds the main thread is what the invocation it belongs to is charged; other
// threads (GC helpers, libvips, the watchdog) are not, and a busy machine only makes it higher.
function clock() {
  return (performance.timeOrigin + performance.now()) * 1000;
}

// Meters CPU and memory per invocation and stops an invocation that goes over, as workerd does:
// SIGXCPU into the interpreter (src/pyodide/internal/python.ts), which raises CpuLimitExceeded in
// whatever Python code the invocation is running; a watchdog thread sends it, because a
// synchronous stretch of Python holds the main thread until it ends. An invocation over a limit
// is over at once: it answers with production's error without waiting for Python (`onExceeded`),
// and Python that swallows CpuLimitExceeded and runs on is ended with its isolate (a second
// signal exits the interpreter), as workerd terminates an isolate that does not stop.
export class Meter {
  #active = null;
  #since = 0;
  #stack = [];

  constructor({ limits, memoryBytes, onExceeded }) {
    this.limits = limits;
    this.memoryBytes = memoryBytes;
    this.onExceeded = onExceeded;
    this.signal = new Int32Array(new SharedArrayBuffer(4));
    this.sequence = new Int32Array(new SharedArrayBuffer(4));
    this.slice = new Float64Array(new SharedArrayBuffer(3 * 8));
    this.hook = createHook({
      before: () => {
        this.#stack.push(this.#active);
        this.#switchTo(currentTrace() ?? null);
      },
      after: () => this.#switchTo(this.#stack.pop() ?? null),
    });
  }

  start() {
    const workerData = { signal: this.signal.buffer, sequence: this.sequence.buffer, slice: this.slice.buffer };
    this.watchdog = new Worker(WATCHDOG, { eval: true, workerData });
    this.watchdog.unref();
    this.hook.enable();
  }

  stop() {
    this.hook.disable();
    this.watchdog?.terminate();
  }

  // Runs `fn` as the start of `trace`'s invocation; the hook follows its callbacks from there.
  run(trace, fn) {
    const previous = this.#active;
    this.#switchTo(trace);
    try {
      return fn();
    } finally {
      this.#switchTo(previous);
    }
  }

  // Asked by Python's SIGXCPU handler: "no" for a signal that outlived its slice, "raise" the
  // first time the running invocation is over its CPU time, "exit" when it ran on regardless.
  sigxcpu() {
    const trace = this.#active;
    if (!trace) return "no";
    const spent = trace.cpuMicros + (clock() - this.#since);
    if (!trace.exceeded && spent <= this.limits.cpuMs * 1000) return "no";
    this.#exceed(trace, "cpu");
    trace.signalsSeen += 1;
    return trace.signalsSeen === 1 ? "raise" : "exit";
  }

  #switchTo(trace) {
    const ending = this.#active;
    if (!ending && !trace) return;
    const now = clock();
    if (ending) {
      ending.cpuMicros += now - this.#since;
      this.#check(ending);
    }
    this.#active = trace;
    this.#since = now;
    Atomics.add(this.sequence, 0, 1); // odd: being written
    // A signal meant for the slice that just ended must not land in the next one.
    Atomics.store(this.signal, 0, 0);
    if (trace) {
      this.slice[START] = now;
      this.slice[BUDGET] = Math.max(0, this.limits.cpuMs * 1000 - trace.cpuMicros);
      this.slice[ACTIVE] = 1;
      if (trace.exceeded === "cpu") Atomics.store(this.signal, 0, SIGXCPU);
    } else {
      this.slice[ACTIVE] = 0;
    }
    Atomics.add(this.sequence, 0, 1);
  }

  // CPU an invocation used off the main thread (observe.chargeCpu).
  charge(trace, micros) {
    trace.cpuMicros += micros;
    this.#check(trace);
  }

  // Memory the invocation holds outside the WebAssembly heap: `peak` bytes at once, `kept` of
  // them for the rest of the invocation (a form: the raw body and its parsed parts while it is
  // parsed, the parts afterwards).
  holdBytes(trace, peak, kept) {
    if (!trace) return;
    trace.heldBytes += peak;
    this.#check(trace);
    trace.heldBytes -= peak - kept;
  }

  #check(trace) {
    if (trace.cpuMicros > this.limits.cpuMs * 1000) this.#exceed(trace, "cpu");
    const memory = this.memoryBytes() + trace.heldBytes;
    if (memory > trace.memoryPeak) trace.memoryPeak = memory;
    if (memory > this.limits.memoryBytes) this.#exceed(trace, "memory");
  }

  #exceed(trace, kind) {
    if (trace.exceeded) return;
    trace.markExceeded(kind);
    // Not from inside an async hook or a signal handler: on the next turn.
    setImmediate(() => this.onExceeded(trace, kind));
  }
}

// Tracing and fault injection for binding calls. Both hang off the call wrapper in
// bindings/wrap.mjs, so application code never knows they exist.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

// Kept per kind, so a busy HTTP workload does not push out the few queue or cron traces.
const MAX_TRACES_PER_KIND = 2000;
const current = new AsyncLocalStorage();
const traces = new Map();
const byKind = new Map();

export class Trace {
  #exceed;

  constructor(kind, label) {
    this.id = randomUUID();
    this.kind = kind;
    this.label = label;
    this.startedAt = Date.now();
    this.start = performance.now();
    this.end = null;
    this.calls = [];
    // What the invocation has used of its limits (limits.mjs), and which one it went over.
    this.cpuMicros = 0;
    this.memoryPeak = 0;
    this.heldBytes = 0;
    this.subrequests = 0;
    this.externalSubrequests = 0;
    this.kvOperations = 0;
    this.d1Queries = 0;
    this.signalsSeen = 0;
    this.exceeded = null;
    // Resolves with the limit ("cpu" or "memory") once the invocation goes over one.
    this.whenExceeded = new Promise((resolve) => (this.#exceed = resolve));
    traces.set(this.id, this);
    if (!byKind.has(kind)) byKind.set(kind, []);
    const ofKind = byKind.get(kind);
    ofKind.push(this);
    if (ofKind.length > MAX_TRACES_PER_KIND) traces.delete(ofKind.shift().id);
  }

  finish() {
    this.end = performance.now();
  }

  markExceeded(kind) {
    this.exceeded = kind;
    this.#exceed(kind);
  }

  get cpuMs() {
    return Math.round(this.cpuMicros / 100) / 10;
  }

  toJSON() {
    const rel = (t) => (t === null ? null : Math.round((t - this.start) * 1000) / 1000);
    return {
      id: this.id,
      kind: this.kind,
      label: this.label,
      started_at: this.startedAt,
      ...(this.messages === undefined ? {} : { messages: this.messages }),
      duration_ms: rel(this.end),
      cpu_ms: this.cpuMs,
      memory_peak_bytes: this.memoryPeak,
      subrequests: this.subrequests,
      exceeded: this.exceeded,
      calls: this.calls.map((c) => ({ ...c, start: rel(c.start), end: rel(c.end) })),
    };
  }
}

// The meter (limits.mjs) that accounts for each invocation's CPU and memory, once started.
let meter = null;
export function useMeter(value) {
  meter = value;
}

// Runs `fn` as the invocation `trace` describes: its binding calls are recorded on the trace and
// what it uses is counted against its limits. Over a limit, the invocation fails at once with
// production's message, whatever its Python code is still doing.
export function runInvocation(trace, fn) {
  const result = current.run(trace, () => (meter ? meter.run(trace, fn) : fn()));
  const exceeded = trace.whenExceeded.then((kind) => {
    throw new LimitExceeded(kind);
  });
  exceeded.catch(() => {});
  return Promise.race([Promise.resolve(result), exceeded]);
}

export class LimitExceeded extends Error {
  constructor(kind) {
    super(kind === "cpu" ? "Worker exceeded CPU time limit." : "Worker exceeded memory limit.");
    this.kind = kind;
  }
}

// Runs `fn` as the engine behind a binding rather than as the Worker: a service that runs on
// Cloudflare's side in production (Vectorize's search) but in this process here. Neither its
// synchronous work nor what it schedules is charged to the calling invocation's CPU time.
export function asEngine(fn) {
  return current.exit(() => (meter ? meter.run(null, fn) : fn()));
}

// Charges `micros` of CPU that ran off the main thread (Node's thread pool) to the invocation
// running now, as workerd would have charged it on the isolate's thread.
export function chargeCpu(micros) {
  const trace = current.getStore();
  if (meter && trace) meter.charge(trace, micros);
}

// Runs `fn` (and what it schedules) as no invocation's work.
export function outsideInvocations(fn) {
  return current.exit(fn);
}

// The invocation whose code is running now, if any.
export function currentTrace() {
  return current.getStore();
}

export function getTrace(id) {
  return traces.get(id);
}

// Traces of one kind (or all), oldest first; `since` (ms since the epoch) keeps the later ones.
export function listTraces(kind, since = 0) {
  const list = kind ? (byKind.get(kind) ?? []) : [...traces.values()];
  return list.filter((t) => t.startedAt >= since);
}

// Records one binding call on the trace of whatever request (or batch, or cron run) is running.
export function recordCall(binding, type, method, sync = false) {
  const trace = current.getStore();
  const call = { binding, type, method, sync, start: performance.now(), end: null, ok: null };
  trace?.calls.push(call);
  return (ok, error) => {
    call.end = performance.now();
    call.ok = ok;
    if (error) call.error = String(error?.message ?? error).slice(0, 200);
  };
}

// target is "BINDING.method" ("BINDING.*" matches every method of that binding). The next
// `skip` calls go through, then `count` calls fail.
const faults = new Map();

export function armFault({ target, count = 1, skip = 0, message }) {
  if (typeof target !== "string" || !/^[^.]+\.[^.]+$/.test(target)) {
    throw new TypeError('target must look like "BINDING.method"');
  }
  faults.set(target, { skip: Number(skip), remaining: Number(count), message: message ?? `injected fault: ${target}` });
}

export function clearFaults() {
  faults.clear();
}

export function listFaults() {
  return Object.fromEntries([...faults].map(([k, v]) => [k, { ...v }]));
}

export function takeFault(binding, method) {
  for (const target of [`${binding}.${method}`, `${binding}.*`]) {
    const fault = faults.get(target);
    if (fault && fault.skip > 0) {
      fault.skip -= 1;
      return null;
    }
    if (fault && fault.remaining > 0) {
      fault.remaining -= 1;
      if (fault.remaining === 0) faults.delete(target);
      return new Error(fault.message);
    }
  }
  return null;
}

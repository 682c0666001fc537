// Workflows (`[[workflows]]`) with the Python class as the workflow: a small engine in the
// runtime, since miniflare's engine runs workflow classes only inside workerd. It keeps the
// contract production's engine keeps (docs: workflows/build/workers-api, sleeping-and-retrying,
// events-and-parameters; the workers SDK's `WorkflowEntrypoint`, which wraps `step`):
// - `run(event, step)` is called strictly on a fresh instance of the class, as an RPC method;
//   `event` is {payload, timestamp, instanceId, workflowName};
// - a step's result is kept the first time it succeeds; when the instance runs again (after a
//   restart of the runtime) `run` is replayed and finished steps answer from what was kept;
// - `step.do` retries with the step's config (default: 5 retries, 10 s apart, exponential),
//   except after a NonRetryableError; `sleep`, `sleepUntil` and `waitForEvent` put the instance in
//   "waiting";
// - instances and step results are persisted per workflow under DIR/v3/workflows/;
// - workflows/reference/limits: a step's result and an event's payload are at most 1 MiB, an
//   instance runs at most 10,000 steps (1,024 on Workers Free), a sleep lasts at most 365 days.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import Database from "better-sqlite3";
import { logError } from "../log.mjs";
import { MESSAGES } from "../limits.mjs";
import { runInvocation, Trace } from "../observe.mjs";

const TERMINAL = new Set(["complete", "errored", "terminated"]);
const DEFAULT_STEP_CONFIG = { retries: { limit: 5, delay: 10_000, backoff: "exponential" }, timeout: "10 minutes" };
const UNITS = { millisecond: 1, second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };
// miniflare's workflows-shared checks, which mirror production's: an instance id is a name of at
// most 100 characters, a step name at most 256 characters without control characters.
const INSTANCE_ID = /^[a-zA-Z0-9_][a-zA-Z0-9-_]{0,99}$/;
const MAX_STEP_NAME = 256;
const MAX_PAYLOAD_BYTES = 2 ** 20;
const MAX_SLEEP_MS = 365 * UNITS.day;
export const MAX_STEPS = { paid: 10_000, free: 1_024 };

function checkPayload(value, what) {
  const size = v8.serialize(value ?? null).length;
  if (size > MAX_PAYLOAD_BYTES) throw new RangeError(`${what} is ${size} bytes serialized; the limit is 1 MiB (${MAX_PAYLOAD_BYTES} bytes)`);
}

// "10 seconds", "1 minute", 250 → milliseconds.
export function parseDuration(value) {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(millisecond|second|minute|hour|day|week)s?\s*$/.exec(String(value));
  if (!match) throw new TypeError(`invalid duration: ${JSON.stringify(value)}`);
  return Number(match[1]) * UNITS[match[2]];
}

function retryDelay({ delay, backoff }, attempt) {
  const base = parseDuration(delay ?? 0);
  if (backoff === "constant") return base;
  if (backoff === "linear") return base * attempt;
  return base * 2 ** (attempt - 1);
}

const pack = (value) => (value === undefined ? null : v8.serialize(value));
const unpack = (blob) => (blob === null ? undefined : v8.deserialize(blob));

class Store {
  constructor(file) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, params BLOB, status TEXT NOT NULL,
        output BLOB, error TEXT, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS steps (instance_id TEXT NOT NULL, key TEXT NOT NULL, value BLOB,
        PRIMARY KEY (instance_id, key));
      CREATE TABLE IF NOT EXISTS events (instance_id TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL, event BLOB NOT NULL, taken INTEGER NOT NULL DEFAULT 0);`);
  }
  insert(id, params) {
    this.db.prepare("INSERT INTO instances (id, params, status, created_at) VALUES (?, ?, 'queued', ?)").run(id, pack(params), Date.now());
  }
  instance(id) {
    return this.db.prepare("SELECT * FROM instances WHERE id = ?").get(id);
  }
  unfinished() {
    return this.db.prepare("SELECT id FROM instances WHERE status NOT IN ('complete', 'errored', 'terminated')").all();
  }
  setStatus(id, status, { output, error } = {}) {
    this.db.prepare("UPDATE instances SET status = ?, output = ?, error = ? WHERE id = ?").run(status, pack(output), error ? JSON.stringify(error) : null, id);
  }
  step(id, key) {
    const row = this.db.prepare("SELECT value FROM steps WHERE instance_id = ? AND key = ?").get(id, key);
    return row && { value: unpack(row.value) };
  }
  saveStep(id, key, value) {
    this.db.prepare("INSERT OR REPLACE INTO steps (instance_id, key, value) VALUES (?, ?, ?)").run(id, key, pack(value));
  }
  forget(id) {
    this.db.prepare("DELETE FROM steps WHERE instance_id = ?").run(id);
    this.db.prepare("DELETE FROM events WHERE instance_id = ?").run(id);
  }
  addEvent(id, type, event) {
    this.db.prepare("INSERT INTO events (instance_id, type, event) VALUES (?, ?, ?)").run(id, type, pack(event));
  }
  takeEvent(id, type) {
    const row = this.db.prepare("SELECT seq, event FROM events WHERE instance_id = ? AND type = ? AND taken = 0 ORDER BY seq LIMIT 1").get(id, type);
    if (!row) return null;
    this.db.prepare("UPDATE events SET taken = 1 WHERE seq = ?").run(row.seq);
    return unpack(row.event);
  }
}

// A NonRetryableError from Python arrives renamed by the SDK's workflows.js.
const nonRetryable = (error) => error?.name === "NonRetryableError" || String(error?.message ?? "").startsWith("NonRetryableError");

class Stopped extends Error {}

// What `run` receives as `step`: a class instance (a plain object would become a dict in Python)
// whose methods are closures, because the SDK calls them through a JS Proxy of it (and configurable,
// because that Proxy answers `do` with a wrapper of its own).
export class WorkflowStep {
  constructor(run) {
    const counts = new Map();
    let steps = 0;
    const stepKey = (name) => {
      if (typeof name !== "string" || name === "") throw new TypeError("a step needs a name");
      if (name.length > MAX_STEP_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
        throw new TypeError(`a step name is at most ${MAX_STEP_NAME} characters, without control characters`);
      }
      steps += 1;
      if (steps > run.engine.maxSteps) throw new RangeError(`a Workflow instance runs at most ${run.engine.maxSteps} steps`);
      const count = (counts.get(name) ?? 0) + 1;
      counts.set(name, count);
      return { key: `${name}#${count}`, count };
    };
    const sleepUntil = async (name, when) => {
      const { key } = stepKey(name);
      const kept = run.kept(key);
      if (!kept && when - Date.now() > MAX_SLEEP_MS) throw new RangeError("a Workflow sleeps at most 365 days");
      const wakeAt = kept ? kept.value.wakeAt : when;
      if (!kept) run.keep(key, { wakeAt });
      await run.wait(Math.max(0, wakeAt - Date.now()), "waiting");
    };
    // A terminated instance's code gets promises that never settle: it stops where it is and
    // costs nothing more, as production stops it, even if it catches every error.
    const inert = (method) => (...args) => {
      if (run.stopped) return new Promise(() => {});
      return method(...args).catch((error) => (error instanceof Stopped ? new Promise(() => {}) : Promise.reject(error)));
    };
    const methods = {};
    Object.defineProperties(methods, {
      do: {
        configurable: true,
        value: async (name, configOrCallback, maybeCallback) => {
          const callback = typeof configOrCallback === "function" ? configOrCallback : maybeCallback;
          const given = typeof configOrCallback === "function" ? {} : (configOrCallback ?? {});
          const config = { ...DEFAULT_STEP_CONFIG, ...given, retries: { ...DEFAULT_STEP_CONFIG.retries, ...given.retries } };
          const { key, count } = stepKey(name);
          const kept = run.kept(key);
          if (kept) {
            if (kept.value.error) throw Object.assign(new Error(kept.value.error.message), { name: kept.value.error.name });
            return kept.value.result;
          }
          for (let attempt = 1; ; attempt++) {
            await run.running();
            try {
              const result = await callback({ step: { name, count }, attempt, config });
              checkPayload(result, `the result of step "${name}"`);
              run.keep(key, { result });
              return result;
            } catch (error) {
              if (error instanceof Stopped) throw error;
              if (nonRetryable(error) || attempt > config.retries.limit) {
                run.keep(key, { error: { name: error?.name ?? "Error", message: String(error?.message ?? error) } });
                throw error;
              }
              await run.wait(retryDelay(config.retries, attempt), "running");
            }
          }
        },
      },
      sleep: { configurable: true, value: (name, duration) => sleepUntil(name, Date.now() + parseDuration(duration)) },
      sleepUntil: {
        configurable: true,
        value: (name, timestamp) => {
          const when = timestamp instanceof Date ? timestamp.getTime() : typeof timestamp === "number" ? timestamp : Date.parse(timestamp);
          if (!Number.isFinite(when)) throw new TypeError(`invalid timestamp: ${timestamp}`);
          return sleepUntil(name, when);
        },
      },
      waitForEvent: {
        configurable: true,
        value: async (name, options) => {
          const { key } = stepKey(name);
          const kept = run.kept(key);
          if (kept) return kept.value.event;
          const type = options?.type;
          if (typeof type !== "string" || type === "") throw new TypeError("waitForEvent needs an event type");
          // The deadline is kept with the step, so a restart does not give the wait a new one.
          const deadlineKey = `${key}@deadline`;
          const deadline = run.kept(deadlineKey)?.value.deadline ?? Date.now() + parseDuration(options?.timeout ?? "24 hours");
          run.keep(deadlineKey, { deadline });
          const event = await run.waitForEvent(type, deadline - Date.now());
          run.keep(key, { event });
          return event;
        },
      },
    });
    for (const name of ["do", "sleep", "sleepUntil", "waitForEvent"]) {
      const method = methods[name];
      Object.defineProperty(this, name, { configurable: true, value: inert((...args) => Promise.resolve().then(() => method(...args))) });
    }
  }
}

// One execution of an instance's `run`, which a pause holds and a terminate stops.
class Run {
  stopped = false;
  #paused = null;
  #sleepers = new Set();
  #eventWaiters = new Set();

  constructor(engine, id) {
    this.engine = engine;
    this.id = id;
  }

  kept(key) {
    this.#check();
    return this.engine.store.step(this.id, key);
  }

  keep(key, value) {
    this.#check();
    this.engine.store.saveStep(this.id, key, value);
  }

  #check() {
    if (this.stopped) throw new Stopped("the workflow instance was terminated");
  }

  async running() {
    this.#check();
    if (this.#paused) await this.#paused.promise;
    this.#check();
  }

  pause() {
    if (!this.#paused) {
      let resolve;
      const promise = new Promise((r) => (resolve = r));
      this.#paused = { promise, resolve };
    }
  }

  resume() {
    this.#paused?.resolve();
    this.#paused = null;
  }

  stop() {
    this.stopped = true;
    this.resume();
    for (const wake of [...this.#sleepers, ...this.#eventWaiters]) wake();
  }

  // A new event arrived: whoever waits for one looks again.
  notify() {
    for (const wake of [...this.#eventWaiters]) wake();
  }

  #sleep(ms, wakers) {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  // Waits `ms` (cut short only by a terminate); the instance shows `status` meanwhile.
  async wait(ms, status) {
    await this.running();
    this.engine.setStatus(this.id, status);
    await this.#sleep(ms, this.#sleepers);
    await this.running();
    this.engine.setStatus(this.id, "running");
  }

  async waitForEvent(type, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.running();
      const event = this.engine.store.takeEvent(this.id, type);
      if (event) {
        this.engine.setStatus(this.id, "running");
        return event;
      }
      if (Date.now() >= deadline) throw new Error(`waitForEvent timed out waiting for an event of type "${type}"`);
      this.engine.setStatus(this.id, "waiting");
      await this.#sleep(Math.min(deadline - Date.now(), 60_000), this.#eventWaiters);
    }
  }
}

// The handle `create`/`get` return (workerd's InstanceImpl).
export class InstanceImpl {
  #engine;
  constructor(engine, id) {
    this.#engine = engine;
    this.id = id;
  }
  async status() {
    return this.#engine.status(this.id);
  }
  async pause() {
    this.#engine.pause(this.id);
  }
  async resume() {
    this.#engine.resume(this.id);
  }
  async terminate() {
    this.#engine.terminate(this.id);
  }
  async restart() {
    this.#engine.restart(this.id);
  }
  async sendEvent(event) {
    this.#engine.sendEvent(this.id, event);
  }
}

// The binding (workerd's WorkflowImpl; the workers SDK wraps it by that name).
export class WorkflowImpl {
  #engine;
  constructor(engine) {
    this.#engine = engine;
  }
  async create(options) {
    return new InstanceImpl(this.#engine, this.#engine.create(options ?? {}));
  }
  async createBatch(list) {
    if (![...list].length) throw new Error("batchCreate should have at least 1 instance");
    return [...list].map((options) => new InstanceImpl(this.#engine, this.#engine.create(options ?? {})));
  }
  async get(id) {
    if (!this.#engine.store.instance(String(id))) throw new Error("instance.not_found");
    return new InstanceImpl(this.#engine, String(id));
  }
}

export class WorkflowEngine {
  #runs = new Map();

  constructor({ name, className, persistRoot, python, env, newContext, plan = "paid" }) {
    this.name = name;
    this.maxSteps = MAX_STEPS[plan];
    this.className = className;
    this.python = python;
    this.env = env;
    this.newContext = newContext;
    this.store = new Store(path.join(persistRoot, "workflows", `${name}.sqlite`));
  }

  binding() {
    return new WorkflowImpl(this);
  }

  // Instances that were queued, running or waiting when the runtime stopped run again.
  resumeUnfinished() {
    for (const { id } of this.store.unfinished()) {
      const row = this.store.instance(id);
      if (row.status !== "paused") this.#start(id);
    }
  }

  create({ id = randomUUID(), params = {} }) {
    id = String(id);
    if (!INSTANCE_ID.test(id)) throw new Error("Workflow instance has invalid id");
    if (this.store.instance(id)) throw new Error("instance.already_exists");
    checkPayload(params, "an instance's params");
    this.store.insert(id, params);
    this.#start(id);
    return id;
  }

  setStatus(id, status) {
    const row = this.store.instance(id);
    if (row && !TERMINAL.has(row.status) && row.status !== "paused") this.store.setStatus(id, status);
  }

  status(id) {
    const row = this.store.instance(id);
    if (!row) throw new Error("instance.not_found");
    const status = { status: row.status, output: unpack(row.output) ?? null };
    if (row.error) status.error = JSON.parse(row.error);
    return status;
  }

  pause(id) {
    this.#runs.get(id)?.pause();
    const row = this.store.instance(id);
    if (row && !TERMINAL.has(row.status)) this.store.setStatus(id, "paused");
  }

  resume(id) {
    const row = this.store.instance(id);
    if (row?.status !== "paused") return;
    this.store.setStatus(id, "running");
    const run = this.#runs.get(id);
    if (run) run.resume();
    else this.#start(id);
  }

  terminate(id) {
    this.#runs.get(id)?.stop();
    this.#runs.delete(id);
    const row = this.store.instance(id);
    if (row && !TERMINAL.has(row.status)) this.store.setStatus(id, "terminated");
  }

  restart(id) {
    this.#runs.get(id)?.stop();
    this.#runs.delete(id);
    this.store.forget(id);
    this.store.setStatus(id, "queued");
    this.#start(id);
  }

  sendEvent(id, event) {
    if (!this.store.instance(id)) throw new Error("instance.not_found");
    const type = event?.type;
    if (typeof type !== "string" || type === "") throw new TypeError("sendEvent needs an event type");
    checkPayload(event.payload, "an event's payload");
    this.store.addEvent(id, type, { payload: event.payload, type, timestamp: new Date() });
    this.#runs.get(id)?.notify();
  }

  #start(id) {
    const run = new Run(this, id);
    this.#runs.set(id, run);
    setImmediate(() => this.#execute(run));
  }

  async #execute(run) {
    const { id } = run;
    const row = this.store.instance(id);
    const event = { payload: unpack(row.params), timestamp: new Date(row.created_at), instanceId: id, workflowName: this.name };
    const trace = new Trace("workflow", `${this.name} ${id}`);
    this.store.setStatus(id, "running");
    try {
      const output = await runInvocation(trace, async () => {
        await this.python.ready();
        const instance = this.python.construct(this.className, [this.newContext(), this.env()]);
        try {
          return await this.python.call(instance, "run", [event, new WorkflowStep(run)], { relaxed: false });
        } finally {
          instance.destroy?.();
        }
      });
      if (trace.exceeded) throw new Error(MESSAGES[trace.exceeded]);
      if (!run.stopped) this.store.setStatus(id, "complete", { output });
    } catch (error) {
      if (run.stopped) return;
      const message = (trace.exceeded ? MESSAGES[trace.exceeded] : this.python.describeError(error)).trim() || String(error?.name ?? error);
      logError(`workflow ${this.name} instance ${id} errored:\n${message}`);
      this.store.setStatus(id, "errored", { error: { name: error?.name ?? "Error", message: message.split("\n").at(-1) } });
    } finally {
      trace.finish();
      if (this.#runs.get(id) === run) this.#runs.delete(id);
    }
  }

  close() {
    for (const run of this.#runs.values()) run.stop();
    this.#runs.clear();
    this.store.db.close();
  }
}

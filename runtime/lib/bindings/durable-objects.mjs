// Durable Objects whose classes are defined in the Python Worker. miniflare can only run a
// Durable Object class from a script inside workerd, so the objects live here in Node: one
// Python instance per object id, calls to one object run one at a time, storage is a SQLite file
// per object under the persist directory, alarms fire on a timer and survive restarts.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chargeBindingCall, MESSAGES } from "../limits.mjs";
import { logError } from "../log.mjs";
import { recordCall, runInvocation, takeFault, Trace } from "../observe.mjs";
import { DurableObjectStorage } from "./do-storage.mjs";
import { namedConstructor } from "./wrap.mjs";

const ID_PATTERN = /^[0-9a-f]{64}$/;

class DurableObjectId {
  constructor(hex, name) {
    this.hex = hex;
    if (name !== undefined) this.name = name;
  }
  toString() {
    return this.hex;
  }
  equals(other) {
    return String(other) === this.hex;
  }
}

// The hibernation API's limits (workerd api/actor-state.h MAX_TAGS_PER_CONNECTION, MAX_TAG_LENGTH;
// io/legacy-hibernation-manager.h ACTIVE_CONNECTION_LIMIT), with workerd's messages.
const MAX_TAGS = 10;
const MAX_TAG_CHARS = 256;
const MAX_HIBERNATABLE_SOCKETS = 32_768;

class DurableObjectState {
  constructor(id, storage, host) {
    this.id = id;
    this.storage = storage;
    Object.defineProperty(this, "pending", { value: new Set(), enumerable: false });
    Object.defineProperty(this, "host", { value: host, enumerable: false });
  }
  get [Symbol.toStringTag]() {
    return "DurableObjectState";
  }
  waitUntil(promise) {
    const tracked = Promise.resolve(promise).catch((error) => logError(`waitUntil in Durable Object failed: ${error?.message ?? error}`));
    this.pending.add(tracked);
    tracked.finally(() => this.pending.delete(tracked));
  }
  async blockConcurrencyWhile(fn) {
    // Calls to an object are already serialised (ObjectHost.enqueue), so running the callback
    // is all that is left to do.
    return await fn();
  }
  abort(reason) {
    throw new Error(`Durable Object aborted${reason ? `: ${reason}` : ""}`);
  }
  // The WebSocket Hibernation API: the object accepts a socket, its events go to the object's
  // webSocketMessage / webSocketClose / webSocketError handlers, and the object may be evicted
  // from memory while the socket stays open (ObjectHost.sockets holds it, not the instance).
  acceptWebSocket(ws, tags = []) {
    const list = [...new Set(Array.from(tags ?? [], String))]; // duplicates are ignored
    if (list.length > MAX_TAGS) throw new RangeError(`a Hibernatable WebSocket cannot have more than ${MAX_TAGS} tags`);
    for (const tag of list) {
      if (tag.length > MAX_TAG_CHARS) throw new RangeError(`"${tag}" is longer than the max tag length (${MAX_TAG_CHARS} characters).`);
    }
    if (this.host.sockets.size >= MAX_HIBERNATABLE_SOCKETS) {
      throw new RangeError(`only ${MAX_HIBERNATABLE_SOCKETS} websockets can be accepted on a single Durable Object instance`);
    }
    ws.acceptHibernatable({ deliver: (socket, event) => this.host.deliverSocketEvent(socket, event) });
    this.host.sockets.set(ws, { tags: list, autoResponseAt: null });
  }
  getWebSockets(tag = undefined) {
    const open = [...this.host.sockets.entries()].filter(([ws]) => ws.readyState <= 1);
    return open.filter(([, meta]) => tag === undefined || tag === null || meta.tags.includes(tag)).map(([ws]) => ws);
  }
  getTags(ws) {
    const meta = this.host.sockets.get(ws);
    if (!meta) throw new TypeError("you must call 'acceptWebSocket()' before attempting to access the tags of a WebSocket.");
    return [...meta.tags];
  }
  setWebSocketAutoResponse(pair = undefined) {
    this.host.autoResponse = pair ?? null;
  }
  getWebSocketAutoResponse() {
    return this.host.autoResponse;
  }
  getWebSocketAutoResponseTimestamp(ws) {
    const at = this.host.sockets.get(ws)?.autoResponseAt;
    return at ? new Date(at) : null;
  }
  setHibernatableWebSocketEventTimeout(ms = undefined) {
    this.host.eventTimeoutMs = ms ?? null;
  }
  getHibernatableWebSocketEventTimeout() {
    return this.host.eventTimeoutMs ?? null;
  }
}

// How long an object with hibernatable sockets and nothing else to do stays in memory
// (production: about ten seconds of inactivity).
export const HIBERNATE_AFTER_MS = 10_000;

// One live object: its Python instance, its storage and the queue that serialises its calls.
class ObjectHost {
  constructor(namespace, id) {
    this.namespace = namespace;
    this.id = id;
    this.tail = Promise.resolve();
    this.instance = null;
    this.alarmTimer = null;
    this.storage = new DurableObjectStorage(namespace.fileFor(id), {
      onAlarmChange: (time) => this.armAlarm(time),
    });
    if (id.name !== undefined) this.storage.rememberIdName(id.name);
    const name = this.storage.idName(); // the name an id from a file alone (after a restart) lacks
    if (name !== null) id.name = name;
    this.state = new DurableObjectState(id, wrapStorage(this.storage, namespace.binding), this);
    this.sockets = new Map(); // hibernatable WebSockets -> { tags, autoResponseAt }
    this.autoResponse = null;
    this.eventTimeoutMs = null;
    this.inflight = 0;
    this.evictTimer = null;
  }

  enqueue(task) {
    this.inflight += 1;
    clearTimeout(this.evictTimer);
    const run = this.tail.then(async () => {
      const python = this.namespace.python;
      await python.ready();
      // An instance made in an isolate that has since been lost is gone with it; storage stays.
      if (!this.instance || this.instanceGeneration !== python.generation) {
        this.instance = await python.construct(this.namespace.className, [this.state, this.namespace.env()]);
        this.instanceGeneration = python.generation;
      }
      return task(this.instance);
    });
    this.tail = run.catch(() => {});
    run.finally(() => {
      this.inflight -= 1;
      this.scheduleEviction();
    }).catch(() => {});
    return run;
  }

  // An object whose only business is hibernatable sockets leaves memory when idle; the next event
  // constructs it again (its storage, sockets, tags and attachments stay).
  scheduleEviction() {
    if (this.inflight > 0 || this.sockets.size === 0 || !this.instance) return;
    this.evictTimer = setTimeout(() => this.evict(), this.namespace.hibernateAfterMs);
    this.evictTimer.unref();
  }

  evict() {
    if (this.inflight > 0 || !this.instance) return false;
    this.instance.destroy?.();
    this.instance = null;
    return true;
  }

  // An event on a hibernatable socket: answered by the auto-response without waking the object,
  // or delivered to its handler as an invocation of its own.
  deliverSocketEvent(ws, event) {
    const meta = this.sockets.get(ws);
    if (!meta) return;
    if (event.kind === "message" && this.autoResponse && event.data === this.autoResponse.request) {
      meta.autoResponseAt = Date.now();
      if (ws.readyState === 1) ws.send(this.autoResponse.response);
      return;
    }
    if (event.kind === "close") {
      this.sockets.delete(ws);
      // workerd replies to a close frame on the object's behalf (web_socket_auto_reply_to_close).
      if (ws.readyState < 3) ws.replyToClose(event.code);
    }
    const [handler, args] =
      event.kind === "message"
        ? ["webSocketMessage", [ws, event.data]]
        : event.kind === "close"
          ? ["webSocketClose", [ws, event.code, event.reason, event.wasClean]]
          : ["webSocketError", [ws, event.error]];
    const trace = new Trace("websocket", `${this.namespace.className} ${handler}`);
    const call = (instance) => {
      // workerd (python-entrypoint-helper.ts) checks for the method before converting any
      // argument to Python, and raises when it is missing.
      if (typeof instance[handler] !== "function") throw new TypeError(`Method ${handler} does not exist`);
      return this.namespace.python.callHandler(instance, handler, args);
    };
    runInvocation(trace, () => this.enqueue(call))
      .then(() => {
        if (trace.exceeded) throw new Error(MESSAGES[trace.exceeded]);
      })
      .catch((error) => {
        const why = trace.exceeded ? MESSAGES[trace.exceeded] : this.namespace.python.describeError?.(error) ?? error?.message ?? error;
        logError(`${handler} of ${this.namespace.className} ${this.id} failed:\n${why}`);
      })
      .finally(() => trace.finish());
  }

  armAlarm(time) {
    clearTimeout(this.alarmTimer);
    this.alarmTimer = null;
    if (time === null || time === undefined) return;
    this.alarmTimer = setTimeout(() => this.fireAlarm(0), Math.max(0, time - Date.now()));
    this.alarmTimer.unref();
  }

  async fireAlarm(retryCount) {
    await this.storage.deleteAlarm();
    // An alarm is an invocation of its own, with its own limits.
    const trace = new Trace("alarm", `${this.namespace.className} ${this.id}`);
    try {
      await runInvocation(trace, () =>
        this.enqueue((instance) =>
          this.namespace.python.callHandler(instance, "alarm", [{ retryCount, isRetry: retryCount > 0 }]),
        ),
      );
      if (trace.exceeded) throw new Error(MESSAGES[trace.exceeded]);
    } catch (error) {
      const why = trace.exceeded ? MESSAGES[trace.exceeded] : (error?.message ?? error);
      logError(`alarm of ${this.namespace.className} ${this.id} failed:\n${why}`);
      if (retryCount < 6) setTimeout(() => this.fireAlarm(retryCount + 1), 2 ** retryCount * 1000).unref();
    } finally {
      trace.finish();
    }
  }
}

function wrapStorage(storage, binding) {
  // Named like workerd's class so the SDK wraps it (DurableObjectContext checks the name).
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === "constructor") return namedConstructor("DurableObjectStorage");
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export class DurableObjectNamespace {
  constructor({ binding, className, scriptName, persistRoot, python, env, hibernateAfterMs = HIBERNATE_AFTER_MS }) {
    this.binding = binding;
    this.hibernateAfterMs = hibernateAfterMs;
    this.className = className;
    this.python = python;
    this.env = env;
    this.directory = path.join(persistRoot, "do", `${scriptName}-${className}`);
    this.objects = new Map();
  }

  get [Symbol.toStringTag]() {
    return "DurableObjectNamespace";
  }

  fileFor(id) {
    return path.join(this.directory, `${id.hex}.sqlite`);
  }

  idFromName(name) {
    const hex = createHash("sha256").update(`${this.directory}\0${name}`).digest("hex");
    return new DurableObjectId(hex, String(name));
  }

  idFromString(hex) {
    if (!ID_PATTERN.test(hex)) throw new TypeError("Invalid Durable Object ID: must be 64 hex digits");
    return new DurableObjectId(hex);
  }

  newUniqueId() {
    return new DurableObjectId(randomBytes(32).toString("hex"));
  }

  get(id) {
    if (!(id instanceof DurableObjectId)) throw new TypeError("get() expects a DurableObjectId");
    return this.#stub(id);
  }

  getByName(name) {
    return this.#stub(this.idFromName(name));
  }

  jurisdiction() {
    return this;
  }

  host(id) {
    if (!this.objects.has(id.hex)) this.objects.set(id.hex, new ObjectHost(this, id));
    return this.objects.get(id.hex);
  }

  // Re-arms alarms that were set before a restart.
  restoreAlarms() {
    if (!fs.existsSync(this.directory)) return;
    for (const file of fs.readdirSync(this.directory)) {
      const match = /^([0-9a-f]{64})\.sqlite$/.exec(file);
      if (!match) continue;
      const host = this.host(new DurableObjectId(match[1]));
      host.storage.getAlarm().then((time) => host.armAlarm(time));
    }
  }

  // Test mode: every instance leaves memory as soon as what it is doing is done, as hibernation
  // would; the next call or socket event constructs it again.
  async evictIdle() {
    let evicted = 0;
    for (const host of this.objects.values()) {
      await host.tail;
      evicted += host.evict() ? 1 : 0;
    }
    return evicted;
  }

  close() {
    for (const host of this.objects.values()) {
      clearTimeout(host.evictTimer);
      clearTimeout(host.alarmTimer);
      host.storage.close();
    }
  }

  #stub(id) {
    const namespace = this;
    const call = (method, args, relaxed) => {
      try {
        chargeBindingCall("DurableObject", method, args); // a subrequest of the calling invocation
      } catch (error) {
        return Promise.reject(error);
      }
      const done = recordCall(namespace.binding, "DurableObject", method);
      const fault = takeFault(namespace.binding, method);
      if (fault) {
        done(false, fault);
        return Promise.reject(fault);
      }
      return namespace
        .host(id)
        .enqueue((instance) => namespace.python.call(instance, method, args, { relaxed }))
        .then(
          (value) => (done(true), value),
          (error) => {
            done(false, error);
            throw error;
          },
        );
    };
    const target = { id, name: id.name };
    return new Proxy(target, {
      get(obj, prop) {
        if (prop === "constructor") return namedConstructor("DurableObject");
        if (typeof prop !== "string" || prop === "then" || prop === "toJSON") return undefined;
        if (prop in obj) return obj[prop];
        if (prop === "fetch") {
          const request = (input, init) => (input instanceof Request && !init ? input : new Request(input, init));
          return (input, init) => call("fetch", [request(input, init), undefined, undefined], true);
        }
        if (RESERVED_RPC_NAMES.has(prop)) {
          // workerd: api/worker-rpc.c++ refuses handler names over RPC.
          return () => Promise.reject(new TypeError(`'${prop}' is a reserved method and cannot be called over RPC.`));
        }
        // Any other name is an RPC method; arguments cross by structured clone, as over RPC.
        return (...args) => call(prop, args.map(cloneForRpc), false);
      },
    });
  }
}

// Handlers a Durable Object (or entrypoint) has that are not RPC methods (workerd
// api/worker-rpc.c++); `fetch` has its own path and `constructor` names the stub's class.
const RESERVED_RPC_NAMES = new Set(["connect", "alarm", "webSocketMessage", "webSocketClose", "webSocketError", "dup"]);

function cloneForRpc(value) {
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}

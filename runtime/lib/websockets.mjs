// WebSockets as workerd presents them to a Worker (src/workerd/api/web-socket.h): `WebSocketPair`
// gives two connected ends; the Worker keeps one (`accept()` it, or hand it to a Durable Object's
// `ctx.acceptWebSocket`) and returns the other in `new Response(null, {status: 101, webSocket})`;
// the runtime then joins that end to the client's real connection (server.mjs, with `ws`).
//
// Node's Response refuses status 101, so the global Response is widened to accept it with a
// webSocket, as workerd's does; everything else is Node's Response unchanged.
import v8 from "node:v8";

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
// workerd api/web-socket.h: MAX_ATTACHMENT_SIZE = 16 KiB (2 KiB before 2026-03-09), V8-serialised.
export const MAX_ATTACHMENT_BYTES = 16 * 1024;
// workerd api/actor-state.c++: an auto-response's request and response are at most 2,048 bytes.
const MAX_AUTO_RESPONSE_BYTES = 2048;
// Cloudflare: a WebSocket message received by a Worker is at most 32 MiB (workers/platform/limits).
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

const byteLength = (data) => (typeof data === "string" ? Buffer.byteLength(data) : data.byteLength);

export class WebSocketEvent extends Event {
  constructor(type, fields) {
    super(type);
    Object.assign(this, fields);
  }
}

// One end of a pair. What one end sends, the other receives as a "message" event; a message
// that arrives before the end is accepted (or handed to a Durable Object) waits for that.
export class WorkerWebSocket extends EventTarget {
  #peer = null;
  #accepted = false;
  #backlog = [];
  #attachment = undefined;
  #sink = null; // set when this end is joined to a real connection (server.mjs)

  constructor() {
    super();
    this.readyState = OPEN;
    this.url = null;
    this.protocol = "";
    this.extensions = "";
    // Set by DurableObjectState.acceptWebSocket: events go to the object's handlers instead.
    Object.defineProperty(this, "hibernation", { value: null, writable: true, enumerable: false });
  }

  get [Symbol.toStringTag]() {
    return "WebSocket";
  }

  static pair() {
    const a = new WorkerWebSocket();
    const b = new WorkerWebSocket();
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  accept() {
    if (this.hibernation) throw new TypeError("This WebSocket was accepted by a Durable Object (acceptWebSocket); do not call accept()");
    if (this.#accepted) return;
    this.#accepted = true;
    this.#flush();
  }

  // What the hibernation API does instead of accept(): events go to `hibernation.deliver`.
  acceptHibernatable(hibernation) {
    if (this.#accepted) throw new TypeError("Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`");
    this.hibernation = hibernation;
    this.#accepted = true;
    this.#flush();
  }

  send(data) {
    if (!this.#accepted) throw new TypeError("You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.");
    if (this.readyState !== OPEN) throw new TypeError("Can't call WebSocket send() after close().");
    const message = typeof data === "string" ? data : toArrayBuffer(data);
    if (byteLength(message) > MAX_MESSAGE_BYTES) throw new RangeError(`WebSocket message is larger than ${MAX_MESSAGE_BYTES} bytes`);
    this.#peer?.#receive({ kind: "message", data: message });
  }

  close(code = 1000, reason = "") {
    if (this.readyState >= CLOSING) return;
    if (code !== 1000 && (code < 3000 || code > 4999) && ![1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(code)) {
      throw new TypeError(`Invalid WebSocket close code: ${code}.`);
    }
    if (Buffer.byteLength(String(reason)) > 123) throw new TypeError("WebSocket close reason is longer than 123 bytes.");
    this.readyState = CLOSING;
    this.#peer?.#receive({ kind: "close", code, reason: String(reason), wasClean: true });
    this.#closed();
  }

  // The close frame the runtime sends back on a hibernated object's behalf when the other side
  // closes (workerd: web_socket_auto_reply_to_close).
  replyToClose(code) {
    if (this.readyState === CLOSED) return;
    const reply = code === 1005 || code === 1006 || code === undefined ? 1000 : code;
    if (this.#peer?.readyState !== CLOSED) this.#peer?.#receive({ kind: "close", code: reply, reason: "", wasClean: true });
    this.#closed();
  }

  serializeAttachment(value) {
    const size = v8.serialize(value).byteLength;
    if (size > MAX_ATTACHMENT_BYTES) {
      throw new RangeError(`A WebSocket 'attachment' cannot be larger than ${MAX_ATTACHMENT_BYTES} bytes.'attachment' was ${size} bytes.`);
    }
    this.#attachment = structuredClone(value);
  }

  deserializeAttachment() {
    return this.#attachment === undefined ? null : structuredClone(this.#attachment);
  }

  // The runtime joins this end to a real connection: what its peer sends goes out through `sink`,
  // and the connection's messages reach the peer through the functions returned.
  joinTo(sink) {
    this.#sink = sink;
    this.#accepted = true;
    // What the Worker sent before its 101 went out (a replay, a greeting) goes first, in order.
    for (const event of this.#backlog.splice(0)) this.#receive(event);
    return {
      message: (data) => this.#peer?.#receive({ kind: "message", data }),
      close: (code, reason, wasClean) => {
        this.#closed();
        this.#peer?.#receive({ kind: "close", code, reason, wasClean });
      },
      error: (error) => this.#peer?.#receive({ kind: "error", error }),
    };
  }

  #closed() {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
  }

  #receive(event) {
    if (this.#sink) {
      // This end is the client's connection: what its peer sends goes out on it.
      if (event.kind === "message") this.#sink.send(event.data);
      else if (event.kind === "close") {
        this.#closed();
        this.#sink.close(event.code, event.reason);
      }
      return;
    }
    this.#backlog.push(event);
    if (this.#accepted) this.#flush();
  }

  #flush() {
    // Delivered on a later turn, as workerd delivers events: never inside the sender's call.
    const events = this.#backlog.splice(0);
    for (const event of events) queueMicrotask(() => this.#dispatch(event));
  }

  #dispatch(event) {
    if (event.kind === "close") {
      // The other side closed; this end is closed too once it answers (or at once, hibernated).
      if (this.readyState === OPEN) this.readyState = CLOSING;
    }
    if (this.hibernation) {
      this.hibernation.deliver(this, event);
      return;
    }
    if (event.kind === "message") this.dispatchEvent(new WebSocketEvent("message", { data: event.data }));
    else if (event.kind === "close") this.dispatchEvent(new WebSocketEvent("close", { code: event.code, reason: event.reason, wasClean: event.wasClean }));
    else this.dispatchEvent(new WebSocketEvent("error", { error: event.error, message: String(event.error?.message ?? event.error) }));
  }
}

function toArrayBuffer(data) {
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  throw new TypeError("WebSocket send() takes a string, an ArrayBuffer or an ArrayBuffer view");
}

export class WebSocketPair {
  constructor() {
    const [client, server] = WorkerWebSocket.pair();
    this[0] = client;
    this[1] = server;
  }
}

// workerd's WebSocketRequestResponsePair (for setWebSocketAutoResponse).
export class WebSocketRequestResponsePair {
  constructor(request, response) {
    if (typeof request !== "string" || typeof response !== "string") throw new TypeError("request and response must be strings");
    for (const [what, text] of [["Request", request], ["Response", response]]) {
      const size = Buffer.byteLength(text);
      if (size > MAX_AUTO_RESPONSE_BYTES) {
        throw new RangeError(`${what} cannot be larger than ${MAX_AUTO_RESPONSE_BYTES} bytes. A ${what.toLowerCase()} of size ${size} was provided.`);
      }
    }
    this.request = request;
    this.response = response;
  }
}

let installed = false;

// Makes the globals a Worker uses for WebSockets what workerd's are: WebSocketPair,
// WebSocketRequestResponsePair, and a Response that takes status 101 with a webSocket.
export function installWebSocketGlobals() {
  if (installed) return;
  installed = true;
  const NodeResponse = globalThis.Response;
  // Kept in a WeakMap, not private fields: undici's constructor reads `status` on the new object
  // before a subclass's fields exist.
  const sockets = new WeakMap();
  class Response extends NodeResponse {
    constructor(body, init = undefined) {
      const switching = init?.status === 101;
      if (switching && !init.webSocket) throw new RangeError("Responses with status 101 must have a webSocket.");
      if (init?.webSocket && !(init.webSocket instanceof WorkerWebSocket)) throw new TypeError("webSocket must be a WebSocket from a WebSocketPair");
      super(switching ? null : body, switching ? { ...init, status: 200 } : init);
      if (init?.webSocket) sockets.set(this, { webSocket: init.webSocket, switching });
    }
    get status() {
      return sockets.get(this)?.switching ? 101 : super.status;
    }
    get ok() {
      return sockets.get(this)?.switching ? false : super.ok;
    }
    get webSocket() {
      return sockets.get(this)?.webSocket ?? null;
    }
  }
  globalThis.Response = Response;
  globalThis.WebSocketPair = WebSocketPair;
  globalThis.WebSocketRequestResponsePair = WebSocketRequestResponsePair;
}

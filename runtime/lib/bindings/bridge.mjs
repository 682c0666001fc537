// HTTP client for the shim worker's binding bridge (shim/shim-worker.js). Every binding call is
// one request on a keep-alive connection: arguments as tagged JSON in a header, values as the
// body. Bodies are written chunk by chunk honouring backpressure and read as streams, so large
// values never sit whole in Node. (miniflare's own Node proxies were tried first: each property
// access is a synchronous round trip, ~100 ms per D1 statement once Pyodide has probed the
// object, and proxied R2 bodies grow Node's memory with the object's size.)
import http from "node:http";
import { once } from "node:events";
import { encode } from "../shim/codec.js";
import { knownLength } from "../streams.mjs";

export const ARGS_HEADER = "x-bridge-args";
export const RESULT_HEADER = "x-bridge-result";
const UNKNOWN_LENGTH =
  "Provided readable stream must have a known length (request/response body or readable half of FixedLengthStream)";

export class Bridge {
  constructor(baseUrl) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  // Sends one call and resolves with the raw node:http response. Arguments travel as the JSON
  // body, or, when the call carries a value (an object to put, a part), URI-encoded in a header
  // so the value can be the body.
  async send(kind, binding, op, args, value, { requireLength = false } = {}) {
    const encodedArgs = JSON.stringify(encode(args ?? {}));
    const hasValue = value !== null && value !== undefined;
    const body = hasValue ? toBody(value, requireLength) : bufferBody(Buffer.from(encodedArgs));
    const url = new URL(`/__bridge/${kind}`, this.base);
    url.searchParams.set("binding", binding);
    url.searchParams.set("op", op);
    const headers = hasValue ? { [ARGS_HEADER]: encodeURIComponent(encodedArgs) } : {};
    if (body.length !== undefined) headers["content-length"] = String(body.length);
    else if (body.stream) headers["transfer-encoding"] = "chunked";
    for (let attempt = 1; ; attempt += 1) {
      // When the Worker has held the event loop for a while (seconds of CPU in Python), every
      // pooled socket may have been closed by workerd unnoticed. A retry therefore goes on a
      // connection of its own, and so does a streamed body, which could not be sent again.
      const agent = attempt === 1 && !body.stream ? this.agent : false;
      const request = http.request(url, { method: "POST", headers, agent });
      const responded = once(request, "response");
      // Observed below; if writing the body fails first, its error is the one that matters.
      responded.catch(() => {});
      try {
        if (body.buffer) request.end(body.buffer);
        else if (body.stream) await pipeStream(body.stream, request);
        else request.end();
        const [response] = await responded;
        return response;
      } catch (error) {
        // A keep-alive socket that workerd had closed: the call never reached workerd, so
        // sending it again is safe (the retry Node's http documentation prescribes).
        if (attempt === 1 && request.reusedSocket && error?.code === "ECONNRESET") continue;
        throw error;
      }
    }
  }

  // A call whose answer is JSON; errors raised inside workerd come back as 500 {name, message}.
  async call(kind, binding, op, args, value, options) {
    const response = await this.send(kind, binding, op, args, value, options);
    const text = await readText(response);
    const parsed = text ? JSON.parse(text) : null;
    if (response.statusCode >= 400) throw bridgeError(parsed, `${kind} ${op} failed with ${response.statusCode}`);
    return parsed;
  }
}

export function bridgeError(parsed, fallback) {
  const error = new Error(parsed?.message ?? fallback);
  if (parsed?.name && parsed.name !== "Error") error.name = parsed.name;
  return error;
}

function toBody(value, requireLength) {
  if (typeof value === "string") return bufferBody(Buffer.from(value));
  if (value instanceof ArrayBuffer) return bufferBody(Buffer.from(value));
  if (ArrayBuffer.isView(value)) return bufferBody(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  if (value instanceof Blob) return { length: value.size, stream: value.stream() };
  if (value instanceof ReadableStream) {
    const length = knownLength(value);
    if (length === undefined && requireLength) throw new TypeError(UNKNOWN_LENGTH);
    return { length, stream: value };
  }
  throw new TypeError(`cannot send a value of type ${value?.constructor?.name ?? typeof value}`);
}

function bufferBody(buffer) {
  return { length: buffer.length, buffer };
}

async function pipeStream(stream, request) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!request.write(value)) await once(request, "drain");
    }
    request.end();
  } catch (error) {
    request.destroy(error);
    throw error;
  } finally {
    reader.releaseLock();
  }
}

export async function readText(response) {
  const chunks = [];
  for await (const chunk of response) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

export async function readBytes(response) {
  const chunks = [];
  for await (const chunk of response) chunks.push(chunk);
  const buffer = Buffer.concat(chunks);
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
}

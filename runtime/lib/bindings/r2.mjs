// R2 for the Python Worker, backed by miniflare's real R2 through the shim worker's HTTP bridge.
// Bodies travel as HTTP bodies with a Content-Length in both directions, so a large object is
// streamed with backpressure and never held whole in Node (see shim/shim-worker.js for why the
// miniflare proxy is not used here).
import http from "node:http";
import { once } from "node:events";
import { decode, encode } from "../shim/codec.js";
import { knownLength, registerKnownLength } from "../streams.mjs";

const ARGS_HEADER = "x-bridge-args";
const OBJECT_HEADER = "x-bridge-object";
const UNKNOWN_LENGTH =
  "Provided readable stream must have a known length (request/response body or readable half of FixedLengthStream)";

class R2Checksums {
  constructor(hex) {
    for (const [name, value] of Object.entries(hex ?? {})) {
      this[name] = Uint8Array.from(value.match(/../g) ?? [], (h) => parseInt(h, 16)).buffer;
    }
    Object.defineProperty(this, "hex", { value: { ...hex }, enumerable: false });
  }
  toJSON() {
    return { ...this.hex };
  }
}

export class R2Object {
  constructor(data) {
    Object.assign(this, decode(data));
    this.checksums = new R2Checksums(data.checksums);
  }

  writeHttpMetadata(headers) {
    const m = this.httpMetadata ?? {};
    const pairs = [
      ["content-type", m.contentType],
      ["content-language", m.contentLanguage],
      ["content-disposition", m.contentDisposition],
      ["content-encoding", m.contentEncoding],
      ["cache-control", m.cacheControl],
      ["expires", m.cacheExpiry ? new Date(m.cacheExpiry).toUTCString() : undefined],
    ];
    for (const [name, value] of pairs) if (value) headers.set(name, value);
  }
}

export class R2ObjectBody extends R2Object {
  constructor(data, body) {
    super(data);
    Object.defineProperty(this, "body", { value: body, enumerable: true });
  }
  get bodyUsed() {
    return this.body.locked;
  }
  async arrayBuffer() {
    return new Response(this.body).arrayBuffer();
  }
  async bytes() {
    return new Uint8Array(await this.arrayBuffer());
  }
  async text() {
    return new Response(this.body).text();
  }
  async json() {
    return JSON.parse(await this.text());
  }
  async blob() {
    return new Response(this.body).blob();
  }
}

function toBridgeBody(value) {
  if (value === null || value === undefined) return { length: null };
  if (typeof value === "string") return bufferBody(Buffer.from(value));
  if (value instanceof ArrayBuffer) return bufferBody(Buffer.from(value));
  if (ArrayBuffer.isView(value)) return bufferBody(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  if (value instanceof ReadableStream) {
    const length = knownLength(value);
    if (length === undefined) throw new TypeError(UNKNOWN_LENGTH);
    return { length, stream: value };
  }
  if (value instanceof Blob) return { length: value.size, stream: value.stream() };
  throw new TypeError(`R2 cannot store a value of type ${value?.constructor?.name ?? typeof value}`);
}

function bufferBody(buffer) {
  return { length: buffer.length, buffer };
}

export class R2Bridge {
  constructor(baseUrl) {
    this.base = new URL("/__bridge/r2", baseUrl);
    this.agent = new http.Agent({ keepAlive: true });
  }

  #url(binding, op) {
    const url = new URL(this.base);
    url.searchParams.set("binding", binding);
    url.searchParams.set("op", op);
    return url;
  }

  // Sends one request; the body, if any, is written chunk by chunk honouring backpressure.
  async send(binding, op, args, value) {
    const body = toBridgeBody(value);
    const headers = { [ARGS_HEADER]: JSON.stringify(encode(args)) };
    if (body.length !== null) headers["content-length"] = String(body.length);
    const request = http.request(this.#url(binding, op), { method: "POST", headers, agent: this.agent });
    const responded = once(request, "response");
    if (body.buffer) request.end(body.buffer);
    else if (body.stream) await pipeStream(body.stream, request);
    else request.end();
    const [response] = await responded;
    return response;
  }

  async call(binding, op, args, value) {
    const response = await this.send(binding, op, args, value);
    const text = await readAll(response);
    const parsed = text ? JSON.parse(text) : null;
    if (response.statusCode >= 400) {
      const error = new Error(parsed?.message ?? `R2 ${op} failed with ${response.statusCode}`);
      error.name = parsed?.name ?? "Error";
      throw error;
    }
    return parsed;
  }

  async get(binding, key, options) {
    const response = await this.send(binding, "get", { key, options });
    if (response.statusCode === 404) {
      response.resume();
      return null;
    }
    const described = response.headers[OBJECT_HEADER];
    if (!described) {
      const error = JSON.parse((await readAll(response)) || "{}");
      throw new Error(error.message ?? `R2 get failed with ${response.statusCode}`);
    }
    const data = JSON.parse(described);
    if (response.statusCode === 412) {
      response.resume();
      return new R2Object(data);
    }
    const body = ReadableStream.from(response);
    registerKnownLength(body, Number(response.headers["content-length"]));
    return new R2ObjectBody(data, body);
  }
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

async function readAll(response) {
  const chunks = [];
  for await (const chunk of response) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

class R2MultipartUpload {
  constructor(bridge, binding, key, uploadId) {
    this.key = key;
    this.uploadId = uploadId;
    Object.defineProperty(this, "bridge", { value: bridge, enumerable: false });
    Object.defineProperty(this, "binding", { value: binding, enumerable: false });
  }
  async uploadPart(partNumber, value, options) {
    const args = { key: this.key, uploadId: this.uploadId, partNumber, options };
    return this.bridge.call(this.binding, "uploadPart", args, value);
  }
  async complete(parts) {
    const args = { key: this.key, uploadId: this.uploadId, parts: [...parts].map((p) => ({ ...p })) };
    return new R2Object(await this.bridge.call(this.binding, "complete", args));
  }
  async abort() {
    await this.bridge.call(this.binding, "abort", { key: this.key, uploadId: this.uploadId });
  }
}

export class R2Bucket {
  constructor(bridge, binding) {
    Object.defineProperty(this, "bridge", { value: bridge, enumerable: false });
    Object.defineProperty(this, "binding", { value: binding, enumerable: false });
  }
  async head(key) {
    const data = await this.bridge.call(this.binding, "head", { key });
    return data && new R2Object(data);
  }
  get(key, options) {
    return this.bridge.get(this.binding, key, plainOptions(options));
  }
  async put(key, value, options) {
    const data = await this.bridge.call(this.binding, "put", { key, options: plainOptions(options) }, value);
    return data && new R2Object(data);
  }
  async delete(keys) {
    await this.bridge.call(this.binding, "delete", { keys: Array.isArray(keys) ? [...keys] : keys });
  }
  async list(options) {
    const listed = await this.bridge.call(this.binding, "list", { options: plainOptions(options) });
    return { ...listed, objects: listed.objects.map((o) => new R2Object(o)) };
  }
  async createMultipartUpload(key, options) {
    const { uploadId } = await this.bridge.call(this.binding, "createMultipartUpload", {
      key,
      options: plainOptions(options),
    });
    return new R2MultipartUpload(this.bridge, this.binding, key, uploadId);
  }
  resumeMultipartUpload(key, uploadId) {
    return new R2MultipartUpload(this.bridge, this.binding, key, uploadId);
  }
}

// Options may arrive as objects converted from Python dicts, or hold Headers (onlyIf, range).
function plainOptions(options) {
  if (options === undefined || options === null) return undefined;
  const out = {};
  for (const [key, value] of Object.entries(options)) {
    out[key] = value instanceof Headers ? new Headers(value) : value;
  }
  return out;
}

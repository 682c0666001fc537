// R2 for the Python Worker: miniflare's real R2 through the shim worker's bridge. Object bodies
// cross as HTTP bodies with a Content-Length, so R2 sees a known-length stream (as it requires in
// production) and Node never holds a whole object.
import { decode } from "../shim/codec.js";
import { registerKnownLength } from "../streams.mjs";
import { bridgeError, readText, RESULT_HEADER } from "./bridge.mjs";

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

// Calls for one bucket: R2 is "r2" on the bridge, and every body must have a known length.
function bucketCalls(bridge, binding) {
  return {
    call: (op, args, value) => bridge.call("r2", binding, op, args, value, { requireLength: true }),
    send: (op, args) => bridge.send("r2", binding, op, args),
  };
}

class R2MultipartUpload {
  constructor(calls, key, uploadId) {
    this.key = key;
    this.uploadId = uploadId;
    Object.defineProperty(this, "calls", { value: calls, enumerable: false });
  }
  async uploadPart(partNumber, value, options) {
    return this.calls.call("uploadPart", { key: this.key, uploadId: this.uploadId, partNumber, options }, value);
  }
  async complete(parts) {
    const args = { key: this.key, uploadId: this.uploadId, parts: [...parts].map((p) => ({ ...p })) };
    return new R2Object(await this.calls.call("complete", args));
  }
  async abort() {
    await this.calls.call("abort", { key: this.key, uploadId: this.uploadId });
  }
}

export class R2Bucket {
  constructor(bridge, binding) {
    Object.defineProperty(this, "calls", { value: bucketCalls(bridge, binding), enumerable: false });
  }
  async head(key) {
    const data = await this.calls.call("head", { key });
    return data && new R2Object(data);
  }
  async get(key, options) {
    const response = await this.calls.send("get", { key, options: options });
    if (response.statusCode === 404) {
      response.resume();
      return null;
    }
    const described = response.headers[RESULT_HEADER];
    if (!described) throw bridgeError(JSON.parse((await readText(response)) || "{}"), "R2 get failed");
    const data = JSON.parse(described);
    // onlyIf did not match: production answers with the object's metadata and no body.
    if (response.statusCode === 412) {
      response.resume();
      return new R2Object(data);
    }
    const body = registerKnownLength(ReadableStream.from(response), Number(response.headers["content-length"]));
    return new R2ObjectBody(data, body);
  }
  async put(key, value, options) {
    const data = await this.calls.call("put", { key, options: options }, value);
    return data && new R2Object(data);
  }
  async delete(keys) {
    await this.calls.call("delete", { keys: Array.isArray(keys) ? [...keys] : keys });
  }
  async list(options) {
    const listed = await this.calls.call("list", { options: options });
    return { ...listed, objects: listed.objects.map((o) => new R2Object(o)) };
  }
  async createMultipartUpload(key, options) {
    const { uploadId } = await this.calls.call("createMultipartUpload", { key, options: options });
    return new R2MultipartUpload(this.calls, key, uploadId);
  }
  resumeMultipartUpload(key, uploadId) {
    return new R2MultipartUpload(this.calls, key, uploadId);
  }
}

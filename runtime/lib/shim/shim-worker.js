// The JavaScript Worker that runs inside miniflare's workerd next to the Python Worker's
// bindings. It does only what must happen inside workerd:
//  - R2 calls whose bodies must stream with a known length (a stream handed to R2 through
//    miniflare's Node proxy is refused, and proxied bodies are buffered), and
//  - queue consumption: miniflare only delivers batches to a Worker inside workerd, so each
//    batch is forwarded to the Node host, which runs the Python handler and answers with the
//    per-message decisions that are then applied to the real messages here.
import { decode, encode } from "./codec.js";

const ARGS_HEADER = "x-bridge-args";
const OBJECT_HEADER = "x-bridge-object";

function describeObject(object) {
  if (object === null) return null;
  return encode({
    key: object.key,
    version: object.version,
    size: object.size,
    etag: object.etag,
    httpEtag: object.httpEtag,
    uploaded: object.uploaded,
    httpMetadata: object.httpMetadata,
    customMetadata: object.customMetadata,
    range: object.range,
    storageClass: object.storageClass,
    checksums: object.checksums?.toJSON?.() ?? {},
  });
}

function bodyLength({ size, range }) {
  if (!range) return size;
  if (range.suffix !== undefined) return Math.min(range.suffix, size);
  return range.length ?? size - (range.offset ?? 0);
}

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

async function r2(request, env, url) {
  const bucket = env[url.searchParams.get("binding")];
  const op = url.searchParams.get("op");
  const args = decode(JSON.parse(request.headers.get(ARGS_HEADER) ?? "{}"));
  const body = request.headers.get("content-length") === null ? null : request.body;
  switch (op) {
    case "head":
      return json(describeObject(await bucket.head(args.key)));
    case "get": {
      const object = await bucket.get(args.key, args.options);
      if (object === null) return new Response(null, { status: 404 });
      const headers = { [OBJECT_HEADER]: JSON.stringify(describeObject(object)) };
      if (!("body" in object)) return new Response(null, { status: 412, headers });
      headers["content-length"] = String(bodyLength(object));
      return new Response(object.body, { status: 200, headers });
    }
    case "put":
      return json(describeObject(await bucket.put(args.key, body, args.options)));
    case "delete":
      await bucket.delete(args.keys);
      return json(null);
    case "list": {
      const listed = await bucket.list(args.options);
      return json({ ...listed, objects: listed.objects.map(describeObject) });
    }
    case "createMultipartUpload": {
      const upload = await bucket.createMultipartUpload(args.key, args.options);
      return json({ key: upload.key, uploadId: upload.uploadId });
    }
    case "uploadPart": {
      const upload = bucket.resumeMultipartUpload(args.key, args.uploadId);
      return json(await upload.uploadPart(args.partNumber, body, args.options));
    }
    case "complete": {
      const upload = bucket.resumeMultipartUpload(args.key, args.uploadId);
      return json(describeObject(await upload.complete(args.parts)));
    }
    case "abort":
      await bucket.resumeMultipartUpload(args.key, args.uploadId).abort();
      return json(null);
    default:
      return json({ name: "Error", message: `unknown R2 operation ${op}` }, 400);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== "/__bridge/r2") return new Response("not found", { status: 404 });
    try {
      return await r2(request, env, url);
    } catch (error) {
      return json({ name: error?.name ?? "Error", message: String(error?.message ?? error) }, 500);
    }
  },

  async queue(batch, env) {
    const payload = {
      queue: batch.queue,
      messages: batch.messages.map((m) => ({
        id: m.id,
        timestamp: m.timestamp.getTime(),
        attempts: m.attempts,
        body: encode(m.body),
      })),
    };
    const response = await env.PYWORKER_HOST.fetch("http://pyworker-host/queue", {
      method: "POST",
      body: JSON.stringify(payload),
    });
    const outcome = await response.json();
    const byId = new Map(batch.messages.map((m) => [m.id, m]));
    for (const decision of outcome.decisions) {
      const options = decision.delaySeconds === undefined ? undefined : { delaySeconds: decision.delaySeconds };
      if (decision.op === "ack") byId.get(decision.id)?.ack();
      else if (decision.op === "retry") byId.get(decision.id)?.retry(options);
      else if (decision.op === "ackAll") batch.ackAll();
      else if (decision.op === "retryAll") batch.retryAll(options);
    }
    if (outcome.error) throw new Error(outcome.error);
  },
};

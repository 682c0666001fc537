// R2 calls run inside workerd, where a request body with a Content-Length is a known-length
// stream that R2 accepts, and an object body can be returned as a streaming response.
import { encode } from "./codec.js";
import { json, RESULT_HEADER } from "./respond.js";

function describe(object) {
  if (object === null) return null;
  return {
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
  };
}

function bodyLength({ size, range }) {
  if (!range) return size;
  if (range.suffix !== undefined) return Math.min(range.suffix, size);
  return range.length ?? size - (range.offset ?? 0);
}

export async function r2(bucket, op, args, body) {
  switch (op) {
    case "head":
      return json(describe(await bucket.head(args.key)));
    case "get": {
      const object = await bucket.get(args.key, args.options);
      if (object === null) return new Response(null, { status: 404 });
      const headers = { [RESULT_HEADER]: JSON.stringify(encode(describe(object))) };
      if (!("body" in object)) return new Response(null, { status: 412, headers });
      headers["content-length"] = String(bodyLength(object));
      return new Response(object.body, { status: 200, headers });
    }
    case "put":
      return json(describe(await bucket.put(args.key, body, args.options)));
    case "delete":
      await bucket.delete(args.keys);
      return json(null);
    case "list": {
      const listed = await bucket.list(args.options);
      return json({ ...listed, objects: listed.objects.map(describe) });
    }
    case "createMultipartUpload": {
      const upload = await bucket.createMultipartUpload(args.key, args.options);
      return json({ key: upload.key, uploadId: upload.uploadId });
    }
    case "uploadPart":
      return json(await bucket.resumeMultipartUpload(args.key, args.uploadId).uploadPart(args.partNumber, body, args.options));
    case "complete":
      return json(describe(await bucket.resumeMultipartUpload(args.key, args.uploadId).complete(args.parts)));
    case "abort":
      await bucket.resumeMultipartUpload(args.key, args.uploadId).abort();
      return json(null);
    default:
      throw new Error(`unknown R2 operation ${op}`);
  }
}

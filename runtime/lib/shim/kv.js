// KV values travel as bytes; the metadata rides in a header.
import { json, RESULT_HEADER } from "./respond.js";

export async function kv(namespace, op, args, body) {
  switch (op) {
    case "get": {
      const { value, metadata } = await namespace.getWithMetadata(args.key, { type: "stream", cacheTtl: args.cacheTtl });
      if (value === null) return new Response(null, { status: 404 });
      return new Response(value, { headers: { [RESULT_HEADER]: JSON.stringify(metadata ?? null) } });
    }
    case "put":
      await namespace.put(args.key, body ?? "", args.options);
      return json(null);
    case "delete":
      await namespace.delete(args.key);
      return json(null);
    case "list":
      return json(await namespace.list(args.options));
    default:
      throw new Error(`unknown KV operation ${op}`);
  }
}

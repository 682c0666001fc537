// Response helpers shared by the shim's bridge handlers.
import { encode } from "./codec.js";

export const ARGS_HEADER = "x-bridge-args";
export const RESULT_HEADER = "x-bridge-result";

export const json = (value, status = 200) =>
  new Response(JSON.stringify(encode(value)), { status, headers: { "content-type": "application/json" } });

export function failure(error) {
  return json({ name: error?.name ?? "Error", message: String(error?.message ?? error) }, 500);
}

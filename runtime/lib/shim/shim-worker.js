// The JavaScript Worker that runs inside miniflare's workerd next to the Python Worker's
// bindings. It does only what must happen inside workerd:
//  - binding calls (D1, R2, KV, queue producers) made on the Python Worker's behalf, one HTTP
//    request each (runtime/lib/bindings/bridge.mjs is the Node side), and
//  - queue consumption: miniflare only delivers batches to a Worker inside workerd, so each
//    batch is forwarded to the Node host, which runs the Python handler and answers with the
//    per-message decisions that are then applied to the real messages here.
import { decode, encode } from "./codec.js";
import { d1 } from "./d1.js";
import { kv } from "./kv.js";
import { queueProducer } from "./queue-producer.js";
import { r2 } from "./r2.js";
import { ARGS_HEADER, failure } from "./respond.js";

const BRIDGES = { r2, d1, kv, queue: queueProducer };

async function bridge(request, env, url) {
  const handler = BRIDGES[url.pathname.slice("/__bridge/".length)];
  const binding = env[url.searchParams.get("binding")];
  if (!handler || !binding) return failure(new Error(`no bridge for ${url.pathname} ${url.searchParams.get("binding")}`));
  // Arguments come in a header when the body carries a value, otherwise as the JSON body.
  const argsHeader = request.headers.get(ARGS_HEADER);
  try {
    const args = decode(argsHeader === null ? await request.json() : JSON.parse(decodeURIComponent(argsHeader)));
    return await handler(binding, url.searchParams.get("op"), args, argsHeader === null ? null : request.body);
  } catch (error) {
    return failure(error);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__bridge/")) return bridge(request, env, url);
    return new Response("not found", { status: 404 });
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

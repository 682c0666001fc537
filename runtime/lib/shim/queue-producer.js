// Messages are sent from inside workerd so they land in miniflare's real queue.
import { json } from "./respond.js";

export async function queueProducer(queue, op, args) {
  if (op === "send") await queue.send(args.body, args.options);
  else if (op === "sendBatch") await queue.sendBatch(args.messages, args.options);
  else throw new Error(`unknown queue operation ${op}`);
  return json(null);
}

// Queue batches as the Python handler sees them. The shim worker hands over a batch taken
// from miniflare's real queue; ack()/retry() calls are recorded in order and sent back to the
// shim, which applies them to the real messages (so retries, delays and the dead-letter queue
// are miniflare's own behaviour, configured from wrangler.toml).
import { decode } from "./shim/codec.js";

class Message {
  constructor({ id, timestamp, body, attempts }, decisions) {
    this.id = id;
    this.timestamp = new Date(timestamp);
    this.body = decode(body);
    this.attempts = attempts;
    Object.defineProperty(this, "decisions", { value: decisions, enumerable: false });
  }
  ack() {
    this.decisions.push({ op: "ack", id: this.id });
  }
  retry(options) {
    this.decisions.push({ op: "retry", id: this.id, delaySeconds: options?.delaySeconds });
  }
}

class MessageBatch {
  constructor(queue, messages, decisions) {
    this.queue = queue;
    this.messages = messages;
    Object.defineProperty(this, "decisions", { value: decisions, enumerable: false });
  }
  ackAll() {
    this.decisions.push({ op: "ackAll" });
  }
  retryAll(options) {
    this.decisions.push({ op: "retryAll", delaySeconds: options?.delaySeconds });
  }
}

export function toBatch(payload) {
  const decisions = [];
  const messages = payload.messages.map((m) => new Message(m, decisions));
  return { batch: new MessageBatch(payload.queue, messages, decisions), decisions };
}

export function summarizeDecisions(decisions, total) {
  const counts = {};
  for (const d of decisions) counts[d.op] = (counts[d.op] ?? 0) + 1;
  const parts = Object.entries(counts).map(([op, n]) => `${n} ${op}`);
  return `${total} message${total === 1 ? "" : "s"}${parts.length ? ` → ${parts.join(", ")}` : ""}`;
}

// The queue producer for the Python Worker: messages go into miniflare's real queue through the
// shim worker's bridge.
import v8 from "node:v8";

// queues/platform/limits: a message is at most 128 KB and a sendBatch call at most 100 messages
// and 256 KB (KB = 1000 bytes). Miniflare checks these too, but with the queue_expose_error_codes
// flag (on from 2026-03-12) its errors become "Unknown Internal Error (15000)" and its batch check
// lets up to 288,000 bytes through; the messages here are the ones it gives without the flag.
const MAX_MESSAGE_BYTES = 128_000;
const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 256_000;

// A message's size as its content type serialises it (v8, the default, is structured clone).
function messageSize(body, contentType = "v8") {
  if (contentType === "text") return Buffer.byteLength(String(body));
  if (contentType === "json") return Buffer.byteLength(JSON.stringify(body));
  if (contentType === "bytes") return body?.byteLength ?? 0;
  return v8.serialize(body).length;
}

function checkMessage(size, operation) {
  if (size > MAX_MESSAGE_BYTES) {
    throw new Error(`Queue ${operation} failed: message length of ${size} bytes exceeds limit of ${MAX_MESSAGE_BYTES}`);
  }
}

export class WorkerQueue {
  constructor(bridge, binding) {
    Object.defineProperty(this, "bridge", { value: bridge, enumerable: false });
    Object.defineProperty(this, "binding", { value: binding, enumerable: false });
  }

  async send(body, options) {
    checkMessage(messageSize(body, options?.contentType), "send");
    await this.bridge.call("queue", this.binding, "send", { body, options: { ...options } });
  }

  async sendBatch(messages, options) {
    const list = [...messages].map((m) => ({ ...m }));
    if (list.length > MAX_BATCH_MESSAGES) {
      throw new Error(`Queue sendBatch failed: batch message count of ${list.length} exceeds limit of ${MAX_BATCH_MESSAGES}`);
    }
    let total = 0;
    for (const message of list) {
      const size = messageSize(message.body, message.contentType);
      checkMessage(size, "sendBatch");
      total += size;
    }
    if (total > MAX_BATCH_BYTES) {
      throw new Error(`Queue sendBatch failed: batch size of ${total} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
    }
    await this.bridge.call("queue", this.binding, "sendBatch", { messages: list, options: { ...options } });
  }
}

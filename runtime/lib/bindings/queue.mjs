// The queue producer for the Python Worker: messages go into miniflare's real queue through the
// shim worker's bridge.
export class WorkerQueue {
  constructor(bridge, binding) {
    Object.defineProperty(this, "bridge", { value: bridge, enumerable: false });
    Object.defineProperty(this, "binding", { value: binding, enumerable: false });
  }
  async send(body, options) {
    await this.bridge.call("queue", this.binding, "send", { body, options: { ...options } });
  }
  async sendBatch(messages, options) {
    const list = [...messages].map((m) => ({ ...m }));
    await this.bridge.call("queue", this.binding, "sendBatch", { messages: list, options: { ...options } });
  }
}

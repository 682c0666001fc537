// One file's upload: a single PUT when the file fits the deployment's request limit, otherwise
// the multipart API part by part. A failed part is retried a few times; if it still fails the
// upload stops in state "failed" and resume() sends only the parts the server says are missing.
// States: queued -> uploading -> done | failed | cancelled; failed -> uploading again on resume.
import { ApiError, call, getJson, sendJson, sendWithProgress } from "./api.js";

const PART_ATTEMPTS = 3;
const RETRY_DELAY_MS = 500;

const retryable = (error) =>
  error instanceof ApiError && (error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class FileUpload extends EventTarget {
  constructor(file, limits) {
    super();
    this.file = file;
    this.contentType = file.type || "application/octet-stream";
    this.multipart = file.size > limits.max_file_size;
    this.loaded = 0;
    this.state = "queued";
    this.detail = "";
    this.error = null;
    this.result = null;
    this.uploadId = null;
    this.aborter = null;
  }

  get fraction() {
    return this.file.size === 0 ? (this.state === "done" ? 1 : 0) : this.loaded / this.file.size;
  }

  // Resume continues a multipart upload the server still has; anything else starts over.
  get resumable() {
    return this.multipart && this.uploadId !== null;
  }

  #update(changes) {
    Object.assign(this, changes);
    this.dispatchEvent(new Event("change"));
  }

  async start() {
    if (this.state === "uploading" || this.state === "done") return this;
    this.aborter = new AbortController();
    const { signal } = this.aborter;
    this.#update({ state: "uploading", error: null, detail: "" });
    try {
      const result = this.multipart ? await this.#multipart(signal) : await this.#single(signal);
      this.#update({ state: "done", loaded: this.file.size, result, detail: "" });
    } catch (error) {
      if (signal.aborted) return this;
      this.#update({ state: "failed", error, detail: error.message });
    }
    return this;
  }

  resume() {
    return this.start();
  }

  // Stops the upload; a multipart upload is also aborted on the server, so its parts are freed.
  async cancel() {
    if (this.state !== "uploading" && this.state !== "failed") return;
    this.aborter?.abort();
    const uploadId = this.uploadId;
    this.#update({ state: "cancelled", detail: "cancelled", uploadId: null, loaded: 0 });
    if (uploadId) {
      // Best effort: the reconciler aborts uploads left idle for a day anyway.
      await call(`/api/uploads/${uploadId}`, { method: "DELETE" }).catch(() => {});
    }
  }

  #single(signal) {
    return sendWithProgress(`/api/files/${encodeURIComponent(this.file.name)}`, {
      method: "PUT",
      body: this.file,
      headers: { "content-type": this.contentType },
      onProgress: (loaded) => this.#update({ loaded }),
      signal,
    });
  }

  async #plan(signal) {
    if (this.uploadId) {
      try {
        return await getJson(`/api/uploads/${this.uploadId}`, { signal });
      } catch (error) {
        // Gone (completed, aborted or expired on the server): start a new upload instead.
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        this.uploadId = null;
      }
    }
    const created = await sendJson(
      "/api/uploads",
      "POST",
      { filename: this.file.name, content_type: this.contentType, size: this.file.size },
      { signal },
    );
    this.uploadId = created.upload_id;
    const all = Array.from({ length: created.part_count }, (_, i) => i + 1);
    return { ...created, parts_missing: all, parts_received: [] };
  }

  async #multipart(signal) {
    const plan = await this.#plan(signal);
    const partBytes = (n) => Math.min(plan.part_size, this.file.size - (n - 1) * plan.part_size);
    let confirmed = plan.parts_received.reduce((sum, n) => sum + partBytes(n), 0);
    this.#update({ loaded: confirmed });
    for (const number of plan.parts_missing) {
      const start = (number - 1) * plan.part_size;
      const body = this.file.slice(start, start + partBytes(number));
      await this.#sendPart(number, plan.part_count, body, confirmed, signal);
      confirmed += body.size;
      this.#update({ loaded: confirmed });
    }
    this.#update({ detail: "finishing" });
    return sendJson(`/api/uploads/${this.uploadId}/complete`, "POST", {}, { signal });
  }

  async #sendPart(number, count, body, confirmed, signal) {
    for (let attempt = 1; ; attempt += 1) {
      this.#update({ detail: `part ${number} of ${count}`, loaded: confirmed });
      try {
        return await sendWithProgress(`/api/uploads/${this.uploadId}/parts/${number}`, {
          method: "PUT",
          body,
          onProgress: (loaded) => this.#update({ loaded: confirmed + loaded }),
          signal,
        });
      } catch (error) {
        // Bytes the browser sent are not bytes the server kept: the bar goes back to what is confirmed.
        this.#update({ loaded: confirmed });
        if (signal.aborted || attempt >= PART_ATTEMPTS || !retryable(error)) throw error;
        await sleep(RETRY_DELAY_MS * attempt);
      }
    }
  }
}

// One file's upload over tus (/api/tus/), sent by Uppy's Tus plugin (npm `uppy`, vendored in
// /vendor/uppy/ and loaded on the first upload). Chunks of 50 MB stay under the edge's 100 MB
// request limit. tus-js-client keeps each upload's URL in localStorage under the file's
// fingerprint (name, type, size, date), so the same file chosen again — after a failure, a reload
// or a crash — continues from the offset the server reports instead of starting over; a finished
// upload forgets it. A chunk that fails is retried a few times before the upload stops "failed".
// States: queued -> uploading -> done | failed | cancelled; failed -> uploading again on resume.
import { ApiError, session } from "./api.js";

const CHUNK_SIZE = 50 * 1000 * 1000;
const RETRY_DELAYS_MS = [0, 1000, 3000];
const UPPY = "/vendor/uppy/uppy.min.mjs";

let uppyModule = null;
const loadUppy = () => (uppyModule ??= import(UPPY));

// The problem details the server answered with, from tus-js-client's error, as an ApiError.
function asApiError(error) {
  const response = error?.originalResponse;
  const status = response?.getStatus?.() ?? 0;
  if (!status) return new ApiError(0, { title: "Network error", detail: "The upload was interrupted." });
  let problem = null;
  try {
    problem = JSON.parse(response.getBody());
  } catch {
    // not problem details: the status will have to do
  }
  return new ApiError(status, problem && typeof problem.title === "string" ? problem : { title: `HTTP ${status}` });
}

export class FileUpload extends EventTarget {
  constructor(file, { folderId = null } = {}) {
    super();
    this.file = file;
    this.folderId = folderId;
    this.contentType = file.type || "application/octet-stream";
    this.loaded = 0;
    this.state = "queued";
    this.detail = "";
    this.error = null;
    this.uploadUrl = null;
    this.uppy = null;
  }

  get fraction() {
    return this.file.size === 0 ? (this.state === "done" ? 1 : 0) : this.loaded / this.file.size;
  }

  // Every upload can be resumed: the server keeps what it received for six days.
  get resumable() {
    return this.uploadUrl !== null;
  }

  #update(changes) {
    Object.assign(this, changes);
    this.dispatchEvent(new Event("change"));
  }

  async #open() {
    const { Uppy, Tus } = await loadUppy();
    const meta = { filename: this.file.name, filetype: this.contentType };
    if (this.folderId) meta.folder_id = this.folderId;
    // Failures are shown on the upload's row; Uppy's own console logging would only repeat them.
    const quiet = { debug() {}, warn() {}, error() {} };
    const uppy = new Uppy({ autoProceed: false, allowMultipleUploadBatches: true, logger: quiet })
      .use(Tus, {
        endpoint: "/api/tus/",
        chunkSize: CHUNK_SIZE,
        retryDelays: RETRY_DELAYS_MS,
        removeFingerprintOnSuccess: true,
        allowedMetaFields: Object.keys(meta),
        headers: () => ({ authorization: `Bearer ${session.key}` }),
        onBeforeRequest: (request) => {
          // The upload's URL, once the server gave one (shown for a resumable upload).
          const url = request.getURL();
          if (url.includes("/api/tus/") && !url.endsWith("/api/tus/") && this.uploadUrl === null) this.#update({ uploadUrl: url });
        },
      });
    uppy.on("upload-progress", (_file, progress) => this.#update({ loaded: progress.bytesUploaded }));
    uppy.on("upload-error", (_file, error) => {
      this.error = asApiError(error);
    });
    this.fileId = uppy.addFile({ name: this.file.name, type: this.contentType, data: this.file, meta });
    return uppy;
  }

  async start() {
    if (this.state === "uploading" || this.state === "done") return this;
    this.#update({ state: "uploading", error: null, detail: "" });
    try {
      this.uppy ??= await this.#open();
      // Again after a failure: tus-js-client asks the server (HEAD) where to go on from.
      const failedBefore = Boolean(this.uppy.getFile(this.fileId)?.error);
      const result = failedBefore ? await this.uppy.retryUpload(this.fileId) : await this.uppy.upload();
      if (this.state === "cancelled") return this;
      if (result?.failed?.length) throw this.error ?? new ApiError(0, { title: "Upload failed" });
      this.#update({ state: "done", loaded: this.file.size, detail: "" });
    } catch (error) {
      if (this.state === "cancelled") return this;
      this.#update({ state: "failed", error, detail: error.message });
    }
    return this;
  }

  resume() {
    return this.start();
  }

  // Stops the upload and ends it on the server (tus termination), so what it stored is freed.
  async cancel() {
    if (this.state !== "uploading" && this.state !== "failed" && this.state !== "queued") return;
    const failed = this.state === "failed";
    this.#update({ state: "cancelled", detail: "cancelled", loaded: 0 });
    // Uppy terminates an upload it is sending (tus DELETE); one that had failed, Uppy has let go
    // of, so it is ended here. One whose DELETE does not arrive the reconciler ends at its expiry.
    this.uppy?.cancelAll();
    if (failed && this.uploadUrl) {
      const headers = { authorization: `Bearer ${session.key}`, "tus-resumable": "1.0.0" };
      await fetch(this.uploadUrl, { method: "DELETE", headers }).catch(() => {});
    }
  }
}

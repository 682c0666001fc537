// Uploads one file with tus-js-client (npm, its Node build), as an application would: the
// fingerprint of the file is stored (FileUrlStorage) so a later run finds the upload and
// resumes it. Prints one JSON line per event; the e2e tests drive it (tests/e2e/test_tus.py).
//
//   node tests/clients/tus_upload.mjs '{"endpoint": ..., "key": ..., "file": ..., "chunkSize": ...,
//     "protocol": "tus-v1", "metadata": {...}, "urlStorage": PATH}'
import fs from "node:fs";
import { FileUrlStorage, Upload } from "tus-js-client";

const options = JSON.parse(process.argv[2]);
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

const file = fs.createReadStream(options.file);
const upload = new Upload(file, {
  endpoint: options.endpoint,
  chunkSize: options.chunkSize,
  protocol: options.protocol ?? "tus-v1",
  metadata: options.metadata ?? {},
  headers: { authorization: `Bearer ${options.key}` },
  urlStorage: new FileUrlStorage(options.urlStorage),
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: true,
  retryDelays: options.retryDelays ?? [0, 500, 1000],
  onUploadUrlAvailable: () => say({ event: "url", url: upload.url }),
  onChunkComplete: (_chunk, accepted, total) => say({ event: "chunk", accepted, total }),
  onSuccess: () => say({ event: "success", url: upload.url }),
  onError: (error) => {
    say({ event: "error", message: String(error?.message ?? error), status: error?.originalResponse?.getStatus?.() });
    process.exitCode = 1;
  },
});

const previous = await upload.findPreviousUploads();
if (previous.length > 0) {
  say({ event: "resuming", url: previous[0].uploadUrl });
  upload.resumeFromPreviousUpload(previous[0]);
}
upload.start();

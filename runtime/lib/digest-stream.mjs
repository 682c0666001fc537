// workerd's crypto.DigestStream (src/workerd/api/crypto/crypto.c++, DigestStream::constructor;
// algorithms from lookupDigestAlgorithm in impl.c++): a WritableStream that hashes what is
// written to it, with `digest` (a Promise of an ArrayBuffer, settled on close or abort) and
// `bytesWritten`. Names are matched case-insensitively; an unknown one is a NotSupportedError.
// crc32/crc32c/crc64nvme, which workerd also offers, are not emulated: a Worker asking for them
// fails here rather than passing with a stand-in.
import { createHash } from "node:crypto";

const ALGORITHMS = new Map([
  ["sha-1", "sha1"],
  ["sha-256", "sha256"],
  ["sha-384", "sha384"],
  ["sha-512", "sha512"],
  ["md5", "md5"],
]);

export class DigestStream extends WritableStream {
  #written = 0;

  constructor(algorithm) {
    const name = typeof algorithm === "string" ? algorithm : algorithm?.name;
    const node = ALGORITHMS.get(String(name).toLowerCase());
    if (!node) throw new DOMException("Unrecognized or unimplemented digest algorithm requested.", "NotSupportedError");
    const hash = createHash(node);
    let settle;
    const digest = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    // Like any promise nobody may await (a stream written and dropped): not an unhandled rejection.
    digest.catch(() => {});
    let self;
    super({
      write(chunk) {
        let bytes;
        if (typeof chunk === "string") bytes = Buffer.from(chunk, "utf8");
        else if (ArrayBuffer.isView(chunk)) bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        else if (chunk instanceof ArrayBuffer) bytes = new Uint8Array(chunk);
        else {
          // workerd errors the stream and leaves `digest` pending; rejecting it is no more lenient.
          const error = new TypeError(
            "DigestStream is a byte stream but received an object of non-ArrayBuffer/ArrayBufferView/string type on its writable side.",
          );
          settle.reject(error);
          throw error;
        }
        hash.update(bytes);
        self.#written += bytes.byteLength;
      },
      close() {
        const out = hash.digest();
        settle.resolve(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
      },
      abort(reason) {
        settle.reject(reason);
      },
    });
    self = this;
    Object.defineProperty(this, "digest", { value: digest, enumerable: true });
  }

  get bytesWritten() {
    return this.#written;
  }
}

export function installDigestStream(crypto = globalThis.crypto) {
  if (!crypto.DigestStream) Object.defineProperty(crypto, "DigestStream", { value: DigestStream, configurable: true });
}

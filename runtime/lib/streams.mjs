// Which ReadableStreams have a known length. workerd knows this for request and response
// bodies that came with a Content-Length and for FixedLengthStream, and R2 accepts only such
// streams; the runtime keeps the same rule so code that works here works in production.
const lengths = new WeakMap();

export function registerKnownLength(stream, length) {
  if (stream && Number.isFinite(length)) lengths.set(stream, length);
  return stream;
}

export function knownLength(stream) {
  return lengths.get(stream);
}

// workerd's FixedLengthStream: an identity TransformStream whose readable side has a known length.
export class FixedLengthStream extends TransformStream {
  constructor(expectedLength) {
    let seen = 0;
    const length = Number(expectedLength);
    super({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > length) throw new TypeError("Attempt to write too many bytes through a FixedLengthStream.");
        controller.enqueue(chunk);
      },
      flush() {
        if (seen < length) throw new TypeError("FixedLengthStream did not see all expected bytes before close().");
      },
    });
    registerKnownLength(this.readable, length);
  }
}

// The Images binding (`[images]`) as workerd's JS side presents it (src/cloudflare/internal/
// images-api.ts: ImagesBindingImpl, ImageTransformerImpl, TransformationResultImpl), with the
// transformations done locally by sharp, as miniflare's images plugin does. Transform options this
// runtime does not implement are refused by name rather than ignored.
import sharp from "sharp";

const FORMATS = { "image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp", "image/avif": "avif" };
const FITS = {
  "scale-down": { fit: "inside", withoutEnlargement: true },
  contain: { fit: "inside" },
  cover: { fit: "cover" },
  crop: { fit: "cover", withoutEnlargement: true },
  pad: { fit: "contain" },
};
const SUPPORTED_TRANSFORMS = new Set(["width", "height", "fit", "rotate", "background"]);
// Cloudflare Images caps a transformation's output at 12,000 pixels a side and reads inputs of at
// most 100 megapixels (docs: images/transform-images; the exact error text is not documented).
const MAX_SIDE = 12_000;
const MAX_INPUT_PIXELS = 100_000_000;

export class ImagesError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

// workerd turns an error response without an error code into this (throwErrorIfErrorResponse).
const unexpected = (status, text) => new ImagesError(`Unexpected error response ${status}: ${text}`, 9523);

async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function decoded(stream, options) {
  const bytes = await readAll(stream);
  return options?.encoding === "base64" ? Buffer.from(bytes.toString("latin1"), "base64") : bytes;
}

export class TransformationResultImpl {
  #bytes;
  #contentType;
  constructor(bytes, contentType) {
    this.#bytes = bytes;
    this.#contentType = contentType;
  }
  contentType() {
    return this.#contentType;
  }
  image(options) {
    const bytes = options?.encoding === "base64" ? Buffer.from(this.#bytes.toString("base64")) : this.#bytes;
    return new Blob([bytes]).stream();
  }
  response(options) {
    const headers = new Headers(options?.headers);
    headers.set("content-type", this.contentType());
    return new Response(this.image(), { headers });
  }
}

export class ImageTransformerImpl {
  #source;
  #transforms = [];
  #consumed = false;
  constructor(source) {
    this.#source = source;
  }
  transform(transform) {
    const unknown = Object.keys(transform ?? {}).filter((key) => !SUPPORTED_TRANSFORMS.has(key));
    if (unknown.length) throw new Error(`the local Images binding does not implement the transform option(s) ${unknown.join(", ")}`);
    for (const side of ["width", "height"]) {
      const value = transform?.[side];
      if (value !== undefined && !(Number.isInteger(value) && value > 0 && value <= MAX_SIDE)) {
        throw unexpected(400, `${side} must be a whole number of pixels from 1 to ${MAX_SIDE}`);
      }
    }
    this.#transforms.push(transform);
    return this;
  }
  draw() {
    throw new Error("the local Images binding does not implement draw()");
  }
  async output(options) {
    if (this.#consumed) {
      throw new ImagesError("IMAGES_TRANSFORM_ERROR 9525: ImageTransformer consumed; you may only call .output() or draw a transformer once", 9525);
    }
    this.#consumed = true;
    const format = FORMATS[options?.format];
    if (!format) throw unexpected(400, `unsupported output format ${options?.format}`);
    let image;
    try {
      image = sharp(await this.#source, { limitInputPixels: MAX_INPUT_PIXELS });
      for (const t of this.#transforms) {
        if (t.rotate) image = image.rotate(t.rotate);
        if (t.width || t.height) {
          image = image.resize({ width: t.width, height: t.height, ...(FITS[t.fit ?? "scale-down"] ?? FITS["scale-down"]), background: t.background });
        }
      }
      const quality = options?.quality;
      const bytes = await image.toFormat(format, quality === undefined ? {} : { quality }).toBuffer();
      return new TransformationResultImpl(bytes, options.format);
    } catch (error) {
      throw unexpected(415, error.message);
    }
  }
}

export class ImagesBindingImpl {
  async info(stream, options) {
    let metadata;
    try {
      const bytes = await decoded(stream, options);
      metadata = { ...(await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata()), fileSize: bytes.length };
    } catch (error) {
      throw unexpected(415, error.message);
    }
    if (metadata.format === "svg") return { format: "image/svg+xml" };
    return { format: `image/${metadata.format === "jpg" ? "jpeg" : metadata.format}`, fileSize: metadata.fileSize, width: metadata.width, height: metadata.height };
  }
  input(stream, options) {
    const source = decoded(stream, options);
    source.catch(() => {}); // reported by output(), if it is ever called
    return new ImageTransformerImpl(source);
  }
  text() {
    throw new Error("the local Images binding does not implement text()");
  }
}

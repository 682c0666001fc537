// JSON with tags for the few non-JSON values that cross between Node and workerd:
// binary data, dates and Headers. Shared by the Node side and the shim worker.
const TAG = "__pyworker";

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encode(value) {
  if (value === null || value === undefined) return value ?? null;
  if (value instanceof Date) return { [TAG]: "date", value: value.toISOString() };
  if (value instanceof ArrayBuffer) return { [TAG]: "arraybuffer", value: toBase64(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return { [TAG]: "bytes", value: toBase64(bytes) };
  }
  if (typeof Headers !== "undefined" && value instanceof Headers) {
    return { [TAG]: "headers", value: [...value] };
  }
  if (Array.isArray(value)) return value.map(encode);
  if (typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = encode(v);
    return out;
  }
  return value;
}

export function decode(value) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decode);
  switch (value[TAG]) {
    case "date":
      return new Date(value.value);
    case "arraybuffer":
      return fromBase64(value.value).buffer;
    case "bytes":
      return fromBase64(value.value);
    case "headers":
      return new Headers(value.value);
    default: {
      const out = {};
      for (const [k, v] of Object.entries(value)) out[k] = decode(v);
      return out;
    }
  }
}

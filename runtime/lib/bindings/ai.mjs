// The AI binding. Offline it is a stand-in that answers with production's input and output
// schemas for the models below, deterministically derived from the input (so tests can rely on
// them: embeddings are hashed bags of words, so texts that share words are near). With
// CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN set it forwards to the real Workers AI REST API.
import { createHash } from "node:crypto";

const EMBEDDING_DIMENSIONS = 768;
const LABELS = [
  "tabby cat", "golden retriever", "sports car", "mountain bike", "espresso", "pizza",
  "laptop", "sunflower", "seashore", "library", "volcano", "hot air balloon",
  "lighthouse", "banana", "park bench", "envelope", "monitor", "teddy bear",
];

function digest(input) {
  return createHash("sha256").update(input).digest();
}

function bytesOf(image) {
  if (image === undefined || image === null) throw aiError(5006, "Required property 'image' is missing");
  if (Array.isArray(image)) return Buffer.from(Uint8Array.from(image));
  if (image instanceof ArrayBuffer) return Buffer.from(image);
  if (ArrayBuffer.isView(image)) return Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (typeof image === "string") return Buffer.from(image, "base64");
  throw aiError(5006, "Type mismatch of 'image'");
}

function aiError(code, message) {
  const error = new Error(`${code}: ${message}`);
  error.name = "AiError";
  return error;
}

function tokens(text) {
  return String(text).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

function embed(text) {
  const vector = new Float64Array(EMBEDDING_DIMENSIONS);
  for (const token of tokens(text)) {
    const h = digest(token);
    for (let k = 0; k < 4; k++) {
      const index = h.readUInt16BE(k * 2) % EMBEDDING_DIMENSIONS;
      vector[index] += h[8 + k] & 1 ? 1 : -1;
    }
  }
  const norm = Math.hypot(...vector) || 1;
  return Array.from(vector, (v) => v / norm);
}

function promptText(inputs) {
  if (typeof inputs?.prompt === "string") return inputs.prompt;
  const messages = inputs?.messages;
  if (Array.isArray(messages) && messages.length) {
    const user = [...messages].reverse().find((m) => m.role === "user") ?? messages.at(-1);
    return typeof user.content === "string" ? user.content : JSON.stringify(user.content);
  }
  throw aiError(5006, "Required properties 'prompt' or 'messages' are missing");
}

// A deterministic "summary": the closing words of the prompt, where the text to summarise
// usually is, capped by max_tokens.
function summarize(inputs) {
  const words = promptText(inputs).split(/\s+/).filter(Boolean);
  const limit = Math.min(Number(inputs?.max_tokens ?? 256), 48);
  return `Summary: ${words.slice(-limit).join(" ")}`.trim();
}

// A model produces tokens over time; so does the stand-in, a few milliseconds apart, so that a
// client (or a Worker that buffered by mistake) behaves as it would against the real thing.
const TOKEN_INTERVAL_MS = 15;

function eventStream(text) {
  const encoder = new TextEncoder();
  const pieces = text.match(/\S+\s*/g) ?? [];
  let first = true;
  return new ReadableStream({
    async pull(controller) {
      if (!first) await new Promise((resolve) => setTimeout(resolve, TOKEN_INTERVAL_MS));
      first = false;
      const piece = pieces.shift();
      if (piece === undefined) {
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(`data: ${JSON.stringify({ response: piece })}\n\n`));
    },
  });
}

const MODELS = {
  "@cf/microsoft/resnet-50": (inputs) => {
    const h = digest(bytesOf(inputs?.image));
    const picked = [];
    for (let i = 0; picked.length < 5; i++) {
      const label = LABELS[h[i % h.length] % LABELS.length];
      if (!picked.includes(label)) picked.push(label);
      if (i > 64) break;
    }
    let remaining = 1;
    return picked.map((label, i) => {
      const score = i === picked.length - 1 ? remaining * 0.5 : remaining * (0.5 + (h[20 + i] % 40) / 100);
      remaining -= score;
      return { label: label.toUpperCase(), score };
    });
  },
  "@cf/meta/llama-3.1-8b-instruct": (inputs) =>
    inputs?.stream ? eventStream(summarize(inputs)) : { response: summarize(inputs) },
  "@cf/meta/llama-3.2-11b-vision-instruct": (inputs) => {
    const labels = MODELS["@cf/microsoft/resnet-50"]({ image: inputs?.image });
    const text = `An image that most resembles a ${labels[0].label.toLowerCase()}, with hints of ${labels[1].label.toLowerCase()}.`;
    return inputs?.stream ? eventStream(text) : { response: text };
  },
  "@cf/baai/bge-base-en-v1.5": (inputs) => {
    const texts = Array.isArray(inputs?.text) ? [...inputs.text] : [inputs?.text];
    if (texts.some((t) => typeof t !== "string")) throw aiError(5006, "Type mismatch of 'text'");
    return { shape: [texts.length, EMBEDDING_DIMENSIONS], data: texts.map(embed), pooling: "mean" };
  },
};

export class Ai {
  constructor({ accountId, apiToken } = {}) {
    Object.defineProperty(this, "remote", {
      value: accountId && apiToken ? { accountId, apiToken } : null,
      enumerable: false,
    });
  }

  get mode() {
    return this.remote ? "Workers AI REST API" : "offline stand-in";
  }

  async run(model, inputs, options) {
    if (this.remote) return this.#runRemote(model, inputs);
    const handler = MODELS[model];
    if (!handler) throw aiError(5007, `No such model ${model} or task`);
    return handler(inputs ?? {}, options);
  }

  async #runRemote(model, inputs) {
    const { accountId, apiToken } = this.remote;
    const body = { ...inputs };
    if (ArrayBuffer.isView(body.image) || body.image instanceof ArrayBuffer) body.image = [...bytesOf(body.image)];
    const response = await fetch(`https://api.cloudflare.com/client/v4/accounts/${accountId}/ai/run/${model}`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (inputs?.stream && response.ok) return response.body;
    const payload = await response.json();
    if (!response.ok || payload.success === false) {
      const first = payload.errors?.[0];
      throw aiError(first?.code ?? response.status, first?.message ?? response.statusText);
    }
    return payload.result;
  }
}

// The AI binding. Offline it is a stand-in that follows Workers AI's catalog (unknown, retired and
// licence-gated models fail with production's errors) and answers, in production's schemas, for
// the models in STAND_INS, deterministically derived from the input (so tests can rely on them:
// embeddings are hashed bags of words, so texts that share words are near). With
// CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN set it forwards to the real Workers AI REST API.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

// Which models exist, which are retired (and since when) and which need the licence agreed to:
// one data file that names its source and the date it was checked.
const CATALOG = JSON.parse(fs.readFileSync(new URL("./workers-ai-catalog.json", import.meta.url), "utf8"));
const MODELS_BY_NAME = new Map(CATALOG.models.map((model) => [model.name, model]));

// The models this account has agreed to, in a JSON file under the state directory.
class Agreements {
  constructor(file) {
    this.file = file;
    this.agreed = new Set(file && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : []);
  }

  has(model) {
    return this.agreed.has(model);
  }

  add(model) {
    this.agreed.add(model);
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify([...this.agreed]));
  }
}
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

function embed(text, dimensions) {
  const vector = new Float64Array(dimensions);
  for (const token of tokens(text)) {
    const h = digest(token);
    for (let k = 0; k < 4; k++) {
      const index = h.readUInt16BE(k * 2) % dimensions;
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

// What the stand-in answers for, in each model's production schema. Every other model in the
// catalog is refused offline (not pretended): set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN
// to run it on Workers AI.
function labelImage(inputs) {
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
}

function describeImage(inputs) {
  const labels = labelImage({ image: inputs?.image });
  return `An image that most resembles a ${labels[0].label.toLowerCase()}, with hints of ${labels[1].label.toLowerCase()}.`;
}

// Llama-family text generation: { prompt | messages, stream?, max_tokens? } → { response }.
const llama = (inputs) => (inputs?.stream ? eventStream(summarize(inputs)) : { response: summarize(inputs) });
const llamaVision = (inputs) => {
  if (inputs?.image === undefined) return llama(inputs);
  const text = describeImage(inputs);
  return inputs?.stream ? eventStream(text) : { response: text };
};
const bge = (dimensions) => (inputs) => {
  const texts = Array.isArray(inputs?.text) ? [...inputs.text] : [inputs?.text];
  if (texts.some((t) => typeof t !== "string")) throw aiError(5006, "Type mismatch of 'text'");
  if (texts.length > 100) throw aiError(5006, "Array must have at most 100 items");
  return { shape: [texts.length, dimensions], data: texts.map((t) => embed(t, dimensions)), pooling: "mean" };
};

const STAND_INS = {
  "@cf/microsoft/resnet-50": labelImage,
  "@cf/llava-hf/llava-1.5-7b-hf": (inputs) => ({ description: describeImage(inputs) }),
  "@cf/meta/llama-3.1-8b-instruct": llama, // until its retirement on 2026-05-30
  "@cf/meta/llama-3.1-8b-instruct-fast": llama,
  "@cf/meta/llama-3.1-8b-instruct-fp8": llama,
  "@cf/meta/llama-3.2-1b-instruct": llama,
  "@cf/meta/llama-3.2-3b-instruct": llama,
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast": llama,
  "@cf/meta/llama-3.2-11b-vision-instruct": llamaVision,
  "@cf/baai/bge-small-en-v1.5": bge(384),
  "@cf/baai/bge-base-en-v1.5": bge(768),
  "@cf/baai/bge-large-en-v1.5": bge(1024),
};

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key]);
}

export class Ai {
  // `agreements`: where the models this account has agreed to are remembered (production keeps
  // them per account, so they outlive a restart); `now` lets tests move the clock.
  constructor({ accountId, apiToken, agreements = null, now = () => Date.now() } = {}) {
    Object.defineProperty(this, "remote", {
      value: accountId && apiToken ? { accountId, apiToken } : null,
      enumerable: false,
    });
    Object.defineProperty(this, "agreements", { value: new Agreements(agreements), enumerable: false });
    Object.defineProperty(this, "now", { value: now, enumerable: false });
  }

  get mode() {
    return this.remote ? "Workers AI REST API" : `offline stand-in (catalog checked ${CATALOG.checked})`;
  }

  async run(model, inputs, options) {
    if (this.remote) return this.#runRemote(model, inputs);
    const entry = this.#available(model, inputs);
    const handler = STAND_INS[entry.name];
    if (!handler) {
      throw new Error(
        `the offline AI stand-in does not emulate ${entry.name} (${entry.task}); set CLOUDFLARE_ACCOUNT_ID and ` +
          "CLOUDFLARE_API_TOKEN to run it on Workers AI",
      );
    }
    return handler(inputs ?? {}, options);
  }

  // The catalog entry that serves `model`, or production's error for it (workerd
  // src/cloudflare/internal/ai-api.ts: `${code}: ${message}` in an error named AiError).
  #available(model, inputs) {
    let entry = MODELS_BY_NAME.get(model);
    if (!entry) throw aiError(5007, fill(CATALOG.errors["5007"], { model }));
    const today = new Date(this.now()).toISOString().slice(0, 10);
    if (entry.deprecatedOn && entry.deprecatedOn <= today) {
      throw aiError(5028, fill(CATALOG.errors["5028"], { date: entry.deprecatedOn }));
    }
    if (entry.aliasOf && entry.since <= today) entry = MODELS_BY_NAME.get(entry.aliasOf);
    if (entry.agree) {
      // Sending "agree" records the agreement and still answers 5016, with a thank-you.
      if (typeof inputs?.prompt === "string" && inputs.prompt.trim().toLowerCase() === "agree") {
        this.agreements.add(entry.name);
        throw aiError(5016, CATALOG.errors["5016-agreed"]);
      }
      if (!this.agreements.has(entry.name)) {
        throw aiError(5016, fill(CATALOG.errors["5016"], { short: entry.name.split("/").at(-1) }));
      }
    }
    return entry;
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

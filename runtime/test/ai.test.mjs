// The Workers AI stand-in (issue 11, item 5) follows the catalog in
// runtime/lib/bindings/workers-ai-catalog.json: errors are production's (workerd
// src/cloudflare/internal/ai-api.ts formats them `${code}: ${message}` in an error named AiError;
// texts from Cloudflare's docs, workers-ai/platform/errors.mdx, and the 2026-05-08 changelog).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Ai } from "../lib/bindings/ai.mjs";

const ai = new Ai();
const cosine = (a, b) => a.reduce((sum, x, i) => sum + x * b[i], 0);

test("bge embeddings: production shape, deterministic, shared words are near", async () => {
  const { shape, data, pooling } = await ai.run("@cf/baai/bge-base-en-v1.5", {
    text: ["red apple pie", "apple pie recipe", "quarterly tax filing"],
  });
  assert.deepEqual(shape, [3, 768]);
  assert.equal(pooling, "mean");
  assert.ok(cosine(data[0], data[1]) > cosine(data[0], data[2]));
  const again = await ai.run("@cf/baai/bge-base-en-v1.5", { text: "red apple pie" });
  assert.deepEqual(again.data[0], data[0]);
});

test("resnet labels: five labels with descending scores", async () => {
  const labels = await ai.run("@cf/microsoft/resnet-50", { image: [1, 2, 3, 4] });
  assert.equal(labels.length, 5);
  assert.ok(labels.every((l, i) => i === 0 || l.score <= labels[i - 1].score));
  assert.deepEqual(await ai.run("@cf/microsoft/resnet-50", { image: [1, 2, 3, 4] }), labels);
});

test("llama streams SSE ending with [DONE]", async () => {
  const stream = await ai.run("@cf/meta/llama-3.1-8b-instruct-fast", { prompt: "one two three", stream: true });
  const text = await new Response(stream).text();
  assert.match(text, /^data: \{"response":/);
  assert.ok(text.endsWith("data: [DONE]\n\n"));
});

test("unknown models fail like production", async () => {
  await assert.rejects(ai.run("@cf/nope/model", {}), { name: "AiError", message: "5007: No such model @cf/nope/model or task" });
});

test("a retired model answers 5028 with its retirement date, from that date on", async () => {
  await assert.rejects(ai.run("@cf/meta/llama-3.1-8b-instruct", { prompt: "hi" }), {
    name: "AiError",
    message: "5028: This model was deprecated on 2026-05-30. Please use an alternative model.",
  });
  const before = new Ai({ now: () => Date.parse("2026-05-29T23:59:00Z") });
  assert.match((await before.run("@cf/meta/llama-3.1-8b-instruct", { prompt: "hi" })).response, /hi/);
  await assert.rejects(ai.run("@cf/facebook/bart-large-cnn", { input_text: "x" }), /^AiError: 5028: .* 2026-05-30/);
  await assert.rejects(ai.run("@hf/thebloke/zephyr-7b-beta-awq", { prompt: "x" }), /5028: This model was deprecated on 2025-10-01/);
});

test("a licence-gated model answers 5016 until the account sends 'agree' once, and remembers it", async () => {
  const agreements = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ai-")), "agreements.json");
  const account = new Ai({ agreements });
  const vision = "@cf/meta/llama-3.2-11b-vision-instruct";
  await assert.rejects(account.run(vision, { prompt: "describe", image: [1, 2, 3] }), {
    name: "AiError",
    message: /^5016: Prior to using this model, you must submit the prompt 'agree'\. By submitting 'agree', you hereby agree to the llama-3\.2-11b-vision-instruct Community License/,
  });
  // Production answers the agreement itself with a 5016 too.
  await assert.rejects(account.run(vision, { prompt: "agree" }), { message: "5016: Thank you for agreeing to this model's terms. You may now use the model." });
  assert.match((await account.run(vision, { prompt: "describe", image: [1, 2, 3] })).response, /An image that most resembles/);
  // The agreement is the account's: a restarted runtime on the same state still has it.
  assert.ok(await new Ai({ agreements }).run(vision, { prompt: "describe", image: [1, 2, 3] }));
  await assert.rejects(new Ai().run(vision, { prompt: "describe", image: [1, 2, 3] }), /^AiError: 5016/);
});

test("a model in the catalog that the stand-in does not emulate is refused, not pretended", async () => {
  await assert.rejects(ai.run("@cf/black-forest-labs/flux-1-schnell", { prompt: "a cat" }), {
    message: /the offline AI stand-in does not emulate @cf\/black-forest-labs\/flux-1-schnell \(Text-to-Image\); set CLOUDFLARE_ACCOUNT_ID/,
  });
});

test("llava describes an image given as bytes, in its own schema", async () => {
  const { description } = await ai.run("@cf/llava-hf/llava-1.5-7b-hf", { image: [1, 2, 3, 4], prompt: "what is this?" });
  assert.match(description, /^An image that most resembles a /);
});

test("the catalog names its source and the date it was checked", () => {
  const catalog = JSON.parse(fs.readFileSync(new URL("../lib/bindings/workers-ai-catalog.json", import.meta.url), "utf8"));
  assert.match(catalog.source, /cloudflare-docs .*workers-ai-models/);
  assert.match(catalog.checked, /^\d{4}-\d{2}-\d{2}$/);
});

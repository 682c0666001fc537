import assert from "node:assert/strict";
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
  const stream = await ai.run("@cf/meta/llama-3.1-8b-instruct", { prompt: "one two three", stream: true });
  const text = await new Response(stream).text();
  assert.match(text, /^data: \{"response":/);
  assert.ok(text.endsWith("data: [DONE]\n\n"));
});

test("unknown models fail like production", async () => {
  await assert.rejects(ai.run("@cf/nope/model", {}), /5007: No such model/);
});

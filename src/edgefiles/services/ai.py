"""Workers AI: summaries, embeddings, image labels and descriptions. Called from the queue
consumer and the summary stream, never from the upload path (100-2000 ms per call)."""

from typing import Any

# Checked against Workers AI's catalog on 2026-11-27: llama-3.1-8b-instruct was retired on
# 2026-05-30 (its -fast variant stays), and llama-3.2-11b-vision answers 5016 until the account
# agrees to Meta's licence, a legal statement no code should make for an operator; llava is not
# gated and takes the same byte-array image.
SUMMARY_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"
EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"
LABEL_MODEL = "@cf/microsoft/resnet-50"
VISION_MODEL = "@cf/llava-hf/llava-1.5-7b-hf"
EMBEDDING_BATCH = 96  # bge takes a list of texts; 100 at most per call


def _summary_prompt(text: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "Summarise the user's document in two or three sentences."},
            {"role": "user", "content": text},
        ],
        "max_tokens": 256,
    }


class AiService:
    def __init__(self, ai: Any) -> None:
        self._ai = ai

    async def summarize(self, text: str) -> str:
        return (await self._ai.run(SUMMARY_MODEL, _summary_prompt(text)))["response"]

    async def summary_stream(self, text: str) -> Any:
        """A text/event-stream of `data: {"response": ...}` lines ending `data: [DONE]`, as the
        AI binding produces it; the caller passes it on without reading it."""
        return await self._ai.run(SUMMARY_MODEL, {**_summary_prompt(text), "stream": True})

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBEDDING_BATCH):
            result = await self._ai.run(EMBEDDING_MODEL, {"text": texts[start : start + EMBEDDING_BATCH]})
            vectors.extend(result["data"])
        return vectors

    async def label_image(self, image: Any) -> list[dict[str, Any]]:
        """`image` is a JS array of byte values (built in JS, so the bytes never become a Python list)."""
        labels = await self._ai.run(LABEL_MODEL, {"image": image})
        return [{"label": item["label"], "score": round(float(item["score"]), 4)} for item in labels]

    async def describe_image(self, image: Any) -> str:
        prompt = "Describe this image in one or two sentences."
        return (await self._ai.run(VISION_MODEL, {"prompt": prompt, "image": image, "max_tokens": 200}))["description"]

"""Workers AI: summaries, embeddings, image labels and descriptions. Called from the queue
consumer and the summary stream, never from the upload path (100-2000 ms per call).

Which model does what comes from vars (domain/models.py). A call whose model Workers AI refuses
(retired, unknown, licence not accepted) raises ModelUnavailable, naming the model and the var.
"""

import logging
from typing import Any

import js

from edgefiles.domain.models import Models, ModelUnavailable, refused_model_message

logger = logging.getLogger(__name__)
_REPORTED: set[str] = set()

EMBEDDING_BATCH = 96  # bge takes a list of texts; 100 at most per call


def _summary_prompt(text: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "Summarise the user's document in two or three sentences."},
            {"role": "user", "content": text},
        ],
        "max_tokens": 256,
    }


def _image_inputs(image: Any, **fields: Any) -> Any:
    """The inputs of an image model as a JS object. Handed a dict, the SDK's python_to_rpc walks
    every value it can iterate, and the image's byte array element by element in Python: about
    1.2 s of CPU per MB per call. A JS object is passed through as it is."""
    inputs = js.Object.new()
    inputs.image = image
    for name, value in fields.items():
        setattr(inputs, name, value)
    return inputs


class AiService:
    def __init__(self, ai: Any, models: Models) -> None:
        self._ai = ai
        self.models = models

    @classmethod
    def from_env(cls, env: Any) -> "AiService":
        models = Models.from_vars(lambda name: getattr(env, name, None))
        for var, problem in models.problems.items():
            if var not in _REPORTED:  # once per isolate, not once per request
                _REPORTED.add(var)
                logger.error("%s; the jobs that need it fail until it is fixed", problem)
        return cls(env.AI, models)

    async def _run(self, job: str, inputs: Any) -> Any:
        var = f"{job.upper()}_MODEL"
        model = getattr(self.models, job)
        if model is None:  # the var names no model: only this job fails
            raise ModelUnavailable(self.models.problems[var])
        try:
            return await self._ai.run(model, inputs)
        except Exception as error:
            message = refused_model_message(str(error), model, var)
            if message is not None:
                raise ModelUnavailable(message) from None
            raise

    async def summarize(self, text: str) -> str:
        return (await self._run("summary", _summary_prompt(text)))["response"]

    async def summary_stream(self, text: str) -> Any:
        """A text/event-stream of `data: {"response": ...}` lines ending `data: [DONE]`, as the
        AI binding produces it; the caller passes it on without reading it."""
        return await self._run("summary", {**_summary_prompt(text), "stream": True})

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBEDDING_BATCH):
            vectors.extend((await self._run("embedding", {"text": texts[start : start + EMBEDDING_BATCH]}))["data"])
        return vectors

    async def label_image(self, image: Any) -> list[dict[str, Any]]:
        """`image` is a JS array of byte values (built in JS, so the bytes never become a Python list)."""
        labels = await self._run("label", _image_inputs(image))
        return [{"label": item["label"], "score": round(float(item["score"]), 4)} for item in labels]

    async def describe_image(self, image: Any) -> str:
        inputs = _image_inputs(image, prompt="Describe this image in one or two sentences.", max_tokens=200)
        return (await self._run("vision", inputs))["description"]

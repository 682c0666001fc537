"""Analysing one stored file by its content type. Produces what the consumer writes to D1."""

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import js

from edgefiles.domain.files import image_cache_key
from edgefiles.domain.pdf_text import UnsupportedPdf, extract_text
from edgefiles.domain.processing import PermanentError
from edgefiles.domain.sniff import TEXT_TYPES
from edgefiles.domain.text_chunks import chunk_text
from edgefiles.services.ai import AiService

logger = logging.getLogger(__name__)

TEXT_READ_BYTES = 64 * 1024
SUMMARY_INPUT_CHARS = 16 * 1024
MAX_PDF_BYTES = 20 * 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
IMAGE_CACHE_TTL = 30 * 24 * 3600


@dataclass
class Analysis:
    analysis: dict[str, Any]
    description: str | None = None
    chunks: list[tuple[int, str, list[float]]] = field(default_factory=list)  # (index, text, embedding)


def decode_text(data: bytes, truncated: bool) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        # A read cut short may end inside a multi-byte character; anything else is not text.
        if truncated and error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            return data[: error.start].decode("utf-8")
        raise PermanentError("the file is not valid UTF-8 text") from None


def ai_calls(file: dict[str, Any]) -> int:
    """The Workers AI calls analysing `file` takes (charged to its owner's daily budget): a
    summary and one embedding batch for text (the chunks indexed fit one batch), a label and a
    description for an image, none for what is not analysed."""
    content_type, size = file["content_type"], file["size_bytes"]
    if content_type in TEXT_TYPES:
        return 2 if size > 0 else 0
    if content_type == "application/pdf":
        return 2 if size <= MAX_PDF_BYTES else 0
    if content_type in IMAGE_TYPES:
        return 2 if size <= MAX_IMAGE_BYTES else 0
    return 0


class Analyser:
    def __init__(self, env: Any) -> None:
        self._bucket = env.STORAGE
        self._cache = env.CACHE
        self._ai = AiService.from_env(env)
        # Identical images of one owner in one batch share one analysis, and so one KV write.
        self._images_in_flight: dict[str, asyncio.Future] = {}

    async def _read(self, key: str, limit: int | None = None) -> Any:
        options = {"range": {"offset": 0, "length": limit}} if limit else {}
        obj = await self._bucket.get(key, options)
        if obj is None:
            raise PermanentError("the stored object is gone")
        return obj

    async def analyse(self, file: dict[str, Any]) -> Analysis:
        content_type = file["content_type"]
        if content_type in TEXT_TYPES:
            if file["size_bytes"] == 0:
                return Analysis({"kind": "text", "summary": None, "chunks": 0})
            obj = await self._read(file["r2_key"], min(TEXT_READ_BYTES, file["size_bytes"]))
            data = bytes(await obj.arrayBuffer())  # the SDK hands an ArrayBuffer over as a memoryview
            return await self._text(decode_text(data, file["size_bytes"] > TEXT_READ_BYTES), "text")
        if content_type == "application/pdf":
            if file["size_bytes"] > MAX_PDF_BYTES:
                raise PermanentError(f"PDFs over {MAX_PDF_BYTES} bytes are not analysed")
            obj = await self._read(file["r2_key"])
            try:
                text = extract_text(bytes(await obj.arrayBuffer()))
            except UnsupportedPdf as error:
                raise PermanentError(f"unsupported PDF: {error}") from None
            return await self._text(text, "pdf")
        if content_type in IMAGE_TYPES:
            if file["size_bytes"] > MAX_IMAGE_BYTES:
                raise PermanentError(f"images over {MAX_IMAGE_BYTES} bytes are not analysed")
            return await self._image(file)
        return Analysis({"kind": "none"})

    async def _text(self, text: str, kind: str) -> Analysis:
        if not text.strip():
            return Analysis({"kind": kind, "summary": None, "chunks": 0})
        summary = await self._ai.summarize(text[:SUMMARY_INPUT_CHARS])
        pieces = chunk_text(text)
        vectors = await self._ai.embed(pieces)
        chunks = [(i, piece, vector) for i, (piece, vector) in enumerate(zip(pieces, vectors, strict=True))]
        return Analysis({"kind": kind, "summary": summary, "chunks": len(chunks)}, chunks=chunks)

    async def _image(self, file: dict[str, Any]) -> Analysis:
        obj = await self._read(file["r2_key"])
        # Read through a JS Response so the buffer stays a JS ArrayBuffer (the SDK would convert
        # obj.arrayBuffer() to a memoryview): hashing and the byte array the AI binding takes are
        # built in JS, and the image's bytes never become Python objects.
        buffer = await js.Response.new(obj.body).arrayBuffer()
        digest = (await js.crypto.subtle.digest("SHA-256", buffer)).to_bytes().hex()
        # Scoped to the owner: a cache shared by all users would tell anyone who uploads an
        # image whether someone else already had (by a flag, or by how fast it completes).
        # The saving that matters is kept: the same image uploaded again by its owner.
        cache_key = image_cache_key(file["user_id"], digest)
        if cache_key in self._images_in_flight:
            result = await asyncio.shield(self._images_in_flight[cache_key])
            return Analysis({**result, "sha256": digest}, description=result["description"])
        in_flight = asyncio.get_running_loop().create_future()
        self._images_in_flight[cache_key] = in_flight
        try:
            result = await self._analyse_image(buffer, cache_key)
        except Exception as error:
            in_flight.set_exception(error)
            in_flight.exception()  # read here: a batch without a second copy never awaits it
            del self._images_in_flight[cache_key]
            raise
        in_flight.set_result(result)
        return Analysis({**result, "sha256": digest}, description=result["description"])

    async def _analyse_image(self, buffer: Any, cache_key: str) -> dict[str, Any]:
        cached = await self._cache.get(cache_key)
        if cached is not None:
            return json.loads(cached)
        image = js.Array.from_(js.Uint8Array.new(buffer))
        labels = await self._ai.label_image(image)
        description = await self._ai.describe_image(image)
        result = {"kind": "image", "labels": labels, "description": description}
        try:
            await self._cache.put(cache_key, json.dumps(result), {"expirationTtl": IMAGE_CACHE_TTL})
        except Exception as error:
            logger.warning("image analysis cache fill failed: %s", error)
        return result

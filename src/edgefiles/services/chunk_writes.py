"""Streaming a request body, piece by piece, into R2 objects and multipart parts of exact sizes
(domain/tus.plan_patch says which). The body's chunks stay JS objects: Python only counts them
and cuts one at a piece's end with `subarray` (a view, no copy), so a PATCH of any size holds at
most a chunk or two, never a part.

Each piece goes through its own FixedLengthStream, which is what R2 accepts as a stream of
known length: earlier segments are piped into it first (`preventClose`, so the stream stays
open for the body's bytes), then the body's next bytes are written. The R2 call reading the
stream runs as a task started first; if it fails before it has read everything (a storage
fault), the stream is cancelled so the writing side stops instead of waiting on a reader that
will never come.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import js
from pyodide.ffi import to_js

from edgefiles.domain.tus import Segment


class BodyEnded(Exception):
    """The request body ended (the client stopped sending) before the bytes it declared."""


class Superseded(Exception):
    """The writer lost its upload to a newer request before its piece was complete: the piece
    is abandoned rather than stored over the newer request's."""


class BodyCursor:
    """A request body read in order, handed out in exact byte counts."""

    def __init__(self, body: Any, digest_writer: Any | None = None) -> None:
        self._reader = body.getReader() if body else None
        self._carry: Any | None = None
        self._digest = digest_writer

    async def _next(self) -> Any:
        if self._carry is not None:
            chunk, self._carry = self._carry, None
            return chunk
        if self._reader is None:
            raise BodyEnded()
        try:
            result = await self._reader.read()
        except Exception as error:
            raise BodyEnded(str(error)) from None
        if result.done:
            raise BodyEnded()
        return result.value

    async def copy_to(self, writer: Any, count: int) -> None:
        """Writes the body's next `count` bytes to `writer`."""
        while count > 0:
            chunk = await self._next()
            if chunk.byteLength > count:
                self._carry = chunk.subarray(count)
                chunk = chunk.subarray(0, count)
            count -= chunk.byteLength
            if self._digest is not None:
                await self._digest.write(chunk)
            await writer.write(chunk)

    async def release(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader.cancel(js.Error.new("upload stopped"))


async def _fill(
    fixed: Any,
    storage: Any,
    segments: tuple[Segment, ...],
    cursor: BodyCursor,
    body_bytes: int,
    still_writer: Callable[[], Awaitable[bool]] | None,
) -> None:
    for segment in segments:
        stored = await storage.get(segment.key)
        if stored is None:
            raise LookupError(f"segment {segment.key} is missing")
        await stored.body.pipeTo(fixed.writable, to_js({"preventClose": True}, dict_converter=js.Object.fromEntries))
    writer = fixed.writable.getWriter()
    try:
        # The last byte is held back until the writer is known to still own the upload: without
        # it R2 cannot have stored the piece, so a writer that lost the upload meanwhile (its
        # client retried on another connection) errors the stream instead, and a part the newer
        # request recorded is never replaced by this one's.
        held = 1 if still_writer is not None and body_bytes > 0 else 0
        await cursor.copy_to(writer, body_bytes - held)
        if held and not await still_writer():
            raise Superseded()
        await cursor.copy_to(writer, held)
        await writer.close()
    finally:
        with contextlib.suppress(Exception):
            writer.releaseLock()


async def write_piece(
    storage: Any,
    consume: Any,
    length: int,
    segments: tuple[Segment, ...],
    cursor: BodyCursor,
    body_bytes: int,
    still_writer: Callable[[], Awaitable[bool]] | None = None,
) -> Any:
    """Streams `segments` then `body_bytes` of the body (together `length` bytes) into
    `consume(stream)` (an R2 put or uploadPart); its result."""
    fixed = js.FixedLengthStream.new(length)
    reading = asyncio.ensure_future(consume(fixed.readable))
    filling = asyncio.ensure_future(_fill(fixed, storage, segments, cursor, body_bytes, still_writer))
    done, _ = await asyncio.wait({reading, filling}, return_when=asyncio.FIRST_EXCEPTION)
    if reading in done and reading.exception() is not None:
        # R2 gave up before reading it all: stop the writing side, which would wait forever.
        with contextlib.suppress(Exception):
            await fixed.readable.cancel(js.Error.new("storage failed"))
        with contextlib.suppress(BaseException):
            await filling
        raise reading.exception()
    if filling in done and filling.exception() is not None:
        with contextlib.suppress(Exception):
            await fixed.writable.abort(js.Error.new("upload stopped"))
        with contextlib.suppress(BaseException):
            await reading
        raise filling.exception()
    await filling
    return await reading

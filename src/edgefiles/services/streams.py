"""Looking at the first bytes of an upload without taking the body out of JS.

The body's first chunks are read just far enough to sniff its type; then the lock is released
and a background task writes those chunks, followed by the rest of the body (`pipeTo` continues
where the reader stopped), into a FixedLengthStream, so R2 still sees one stream of known length.
Only the sniffed bytes enter Python; the chunks stay JS objects.

No `tee()`: by the Streams spec, cancelling one branch of a tee completes only once the other
branch has been read to the end, and that reader (R2) starts after the sniff, so awaiting the
cancel hung every body that did not fit in the first chunks (about 64 KiB). Reading the body
once also means nothing is buffered for a second branch.
"""

import asyncio
import contextlib
from typing import Any

import js


class BodyUnreadable(Exception):
    """The request body failed before its first bytes could be read."""


async def _read_head(reader: Any, limit: int) -> tuple[bytes, list[Any]]:
    """(the first `limit` bytes, the JS chunks read to get them)."""
    head = b""
    chunks: list[Any] = []
    while len(head) < limit:
        chunk = await reader.read()
        if chunk.done:
            break
        chunks.append(chunk.value)
        # Only the bytes still needed cross into Python, however large the chunk.
        head += chunk.value.subarray(0, limit - len(head)).to_bytes()
    return head, chunks


async def _feed(chunks: list[Any], body: Any, writable: Any) -> None:
    writer = writable.getWriter()
    try:
        for chunk in chunks:
            await writer.write(chunk)
    finally:
        writer.releaseLock()
    await body.pipeTo(writable)


async def sniff_body(body: Any, length: int, limit: int) -> tuple[bytes, Any, Any]:
    """(first bytes, a known-length stream of the whole body, the task feeding that stream).

    Await the task (or `discard` it) once the stream has been consumed or abandoned.
    """
    reader = body.getReader()
    try:
        head, chunks = await _read_head(reader, limit)
    except Exception as error:
        # The client closed the connection, or sent less than it declared.
        raise BodyUnreadable(str(error)) from None
    finally:
        reader.releaseLock()
    fixed = js.FixedLengthStream.new(length)
    feed = asyncio.ensure_future(_feed(chunks, body, fixed.writable))
    # Pyodide's event loop reports a task that fails while nothing else watches it as an
    # "Unhandled exception in event loop", even if it is awaited a moment later (a client that
    # disconnects fails the feed before R2 reports). The caller awaits it; this marks it watched.
    feed.add_done_callback(_watched)
    return head, fixed.readable, feed


def _watched(task: "asyncio.Future[None]") -> None:
    """Nothing to do: its outcome is awaited by whoever started it."""


async def discard(stream: Any, feed: Any | None) -> None:
    """Abandons a body that will not be stored (`feed` is None for a body passed on as it is)."""
    # With a reason: the feed then fails with an Error, which Python can turn into an exception
    # (a rejection with `undefined` is not one).
    with contextlib.suppress(Exception):
        await stream.cancel(js.Error.new("upload refused"))
    if feed is not None:
        with contextlib.suppress(Exception):
            await feed


async def settle(feed: Any | None) -> None:
    """Waits for the task feeding a stored body; R2 has already reported how the write went."""
    if feed is not None:
        with contextlib.suppress(Exception):
            await feed


async def head_of_blob(blob: Any, limit: int) -> bytes:
    return (await blob.js_object.slice(0, limit).arrayBuffer()).to_bytes()


class BodyTooLarge(Exception):
    """The stream carried more than the caller accepts; the rest was not read."""


async def read_limited(stream: Any, limit: int) -> bytes:
    """All of a (small) body, or BodyTooLarge as soon as it passes `limit` bytes, so a client
    cannot make the Worker hold more than `limit` bytes whatever it sends or declares."""
    if not stream:  # no body (JS null)
        return b""
    reader = stream.getReader()
    data = bytearray()
    try:
        while True:
            chunk = await reader.read()
            if chunk.done:
                return bytes(data)
            if len(data) + chunk.value.byteLength > limit:
                raise BodyTooLarge(limit)
            data += chunk.value.to_bytes()
    finally:
        with contextlib.suppress(Exception):
            await reader.cancel()

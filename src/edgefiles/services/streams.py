"""Looking at the first bytes of an upload without taking the body out of JS.

The request body is teed: one branch is read just far enough to sniff its type, the other is
piped through a FixedLengthStream so R2 still sees a stream of known length (a teed branch has
none, and R2 refuses streams without one). Only the sniffed bytes enter Python.
"""

import asyncio
import contextlib
from typing import Any

import js


async def _read_head(stream: Any, limit: int) -> bytes:
    reader = stream.getReader()
    head = b""
    try:
        while len(head) < limit:
            chunk = await reader.read()
            if chunk.done:
                break
            head += chunk.value.to_bytes()
    finally:
        # Cancelling this branch lets the other one flow without buffering for it.
        await reader.cancel()
    return head[:limit]


async def sniff_body(body: Any, length: int, limit: int) -> tuple[bytes, Any, Any]:
    """(first bytes, a known-length stream of the whole body, the pipe feeding that stream).

    Await the pipe (or `discard` it) once the stream has been consumed or abandoned.
    """
    probe, rest = body.tee()
    head = await _read_head(probe, limit)
    fixed = js.FixedLengthStream.new(length)
    pipe = asyncio.ensure_future(rest.pipeTo(fixed.writable))
    return head, fixed.readable, pipe


async def discard(stream: Any, pipe: Any) -> None:
    """Abandons a body that will not be stored."""
    # With a reason: the pipe then rejects with an Error, which Python can turn into an exception
    # (a rejection with `undefined` is not one).
    with contextlib.suppress(Exception):
        await stream.cancel(js.Error.new("upload refused"))
    with contextlib.suppress(Exception):
        await pipe


async def head_of_blob(blob: Any, limit: int) -> bytes:
    return (await blob.js_object.slice(0, limit).arrayBuffer()).to_bytes()

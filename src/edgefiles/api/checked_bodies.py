"""Upload bodies whose first bytes must agree with their declared type, passed on to R2 as
streams (see services/streams.py for how the bytes are looked at without buffering)."""

from typing import Any

from edgefiles.domain.problems import Problem
from edgefiles.domain.sniff import SNIFF_BYTES, matches_content
from edgefiles.services.streams import BodyUnreadable, discard, sniff_body


def content_mismatch(content_type: str) -> Problem:
    return Problem(415, f"The file's first bytes are not those of {content_type}")


async def checked_body(body: Any, content_type: str, size: int) -> tuple[Any, Any]:
    """The body as a stream R2 accepts, once its first bytes agree with `content_type`, and the
    task feeding it (None when the body is passed on as it is); 415 when they do not."""
    if content_type == "application/octet-stream":
        return body, None  # nothing to sniff: the request body goes to R2 as it is
    try:
        head, stream, feed = await sniff_body(body, size, SNIFF_BYTES)
    except BodyUnreadable:
        raise Problem(400, "The request body ended before its first bytes arrived") from None
    if not matches_content(content_type, head):
        await discard(stream, feed)
        raise content_mismatch(content_type)
    return stream, feed

"""Serving a file's bytes: ranges, conditional requests, HEAD. R2's body stream becomes the
response body directly, so no byte of the file passes through Python."""

import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC
from email.utils import format_datetime
from typing import Any

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.domain.problems import Problem, not_found
from edgefiles.domain.ranges import Unsatisfiable, parse_range
from edgefiles.services.storage import content_disposition

# A user's bytes are served from the origin the web app trusts: the browser must neither guess
# another type than the declared one (an "image" that is HTML) nor run anything in them, even
# when a file is opened directly rather than downloaded.
USER_CONTENT_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
}
_CONDITIONAL_HEADERS = ("if-none-match", "if-match", "if-modified-since", "if-unmodified-since")


def _headers(row: dict[str, Any], obj: Any) -> dict[str, str]:
    headers = {
        "content-type": row["content_type"],
        "content-disposition": content_disposition(row["filename"]),
        "accept-ranges": "bytes",
        "etag": obj.httpEtag,
        "cache-control": "private, max-age=0, must-revalidate",
        **USER_CONTENT_HEADERS,
    }
    uploaded = obj.uploaded
    if uploaded is not None:
        headers["last-modified"] = format_datetime(uploaded.replace(tzinfo=UTC), usegmt=True)
    return headers


async def serve_file(
    ctx: RequestContext, row: dict[str, Any], on_serve: Callable[[], Awaitable[None]] | None = None
) -> Response:
    """`on_serve` runs once it is certain bytes will be served (200 or 206: not a HEAD, a 304, a
    412 or a 416); it may still refuse by raising, and the object's body is then cancelled."""
    storage = ctx.services.storage
    size = row["size_bytes"]
    if ctx.method == "HEAD":
        obj = await storage.head(row["r2_key"])
        if obj is None:
            raise not_found()
        return Response(None, headers={**_headers(row, obj), "content-length": str(size)})
    try:
        byte_range = parse_range(ctx.header("range"), size)
    except Unsatisfiable:
        raise Problem(416, f"The file has {size} bytes", headers={"content-range": f"bytes */{size}"}) from None
    conditional = any(ctx.header(name) for name in _CONDITIONAL_HEADERS)
    obj = await storage.get(
        row["r2_key"], byte_range=byte_range, conditions=ctx.request.js_object.headers if conditional else None
    )
    if obj is None:
        raise not_found()
    headers = _headers(row, obj)
    if not hasattr(obj, "body"):
        # R2 evaluated the preconditions and sent no body.
        if ctx.header("if-none-match") or ctx.header("if-modified-since"):
            return Response(
                None,
                status=304,
                headers={"etag": headers["etag"], "cache-control": headers["cache-control"], **USER_CONTENT_HEADERS},
            )
        raise Problem(412, "A precondition of the request does not hold")
    if on_serve is not None:
        try:
            await on_serve()
        except BaseException:
            await _cancel(obj.body)
            raise
    if byte_range is None:
        return Response(obj.body, headers={**headers, "content-length": str(size)})
    headers["content-range"] = byte_range.content_range(size)
    headers["content-length"] = str(byte_range.length)
    return Response(obj.body, status=206, headers=headers)


async def _cancel(body: Any) -> None:
    """Releases an R2 body that will not be sent (nothing is read of it)."""
    with contextlib.suppress(Exception):
        await body.cancel()

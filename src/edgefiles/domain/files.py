"""Naming and validation rules for stored files."""

from edgefiles.domain.numbers import is_decimal

# A file in one of these states changes no more until it is deleted.
FINISHED_STATUSES = frozenset({"completed", "failed"})


def object_key(user_id: str, file_id: str) -> str:
    """The R2 key of a file: no segment of it comes from the client."""
    return f"uploads/{user_id}/{file_id}"


def cache_key(user_id: str, file_id: str) -> str:
    """The KV key of a file's metadata. It includes the owner, so a cache hit can never hand
    one user's file to another."""
    return f"file:{user_id}:{file_id}"


def image_cache_key(user_id: str, sha256: str) -> str:
    """The KV key of an image's analysis. Per owner, never global: see services/analysis.py."""
    return f"ai:image:{user_id}:{sha256}"


def parse_content_length(header: str | None, limit: int) -> int:
    """The declared body size. Raises LookupError when absent, ValueError when malformed and
    OverflowError when over `limit`."""
    if header is None:
        raise LookupError("Content-Length is required")
    if not is_decimal(header):
        raise ValueError("Content-Length must be a non-negative integer")
    size = int(header)
    if size > limit:
        raise OverflowError(f"the file is {size} bytes; the limit is {limit}")
    return size


def base_content_type(header: str | None) -> str:
    return (header or "application/octet-stream").split(";", 1)[0].strip().lower()

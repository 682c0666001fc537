"""Naming and validation rules for stored files."""

from edgefiles.domain.numbers import is_decimal

# A file in one of these states changes no more until it is deleted.
FINISHED_STATUSES = frozenset({"completed", "failed"})


OBJECT_PREFIX = "objects/"
# Keys of files stored before objects were partitioned by hour (the reconciler sweeps them once).
LEGACY_OBJECT_PREFIX = "uploads/"


def object_key(user_id: str, file_id: str, created_at: str) -> str:
    """The R2 key of a file: `objects/<UTC hour it was stored>/<owner>/<file id>`. No segment comes
    from the client, and keys sort by the hour they were written, so the reconciler finds
    objects no row owns by listing each hour's prefix once, after it is over (reconciler.py)."""
    return f"{OBJECT_PREFIX}{hour_partition(created_at)}/{user_id}/{file_id}"


def hour_partition(timestamp: str) -> str:
    """`2026-11-27T19:48:33.123Z` -> `2026-11-27T19` (clock.iso timestamps)."""
    if len(timestamp) < 13 or timestamp[10] != "T":
        raise ValueError(f"not an ISO timestamp: {timestamp!r}")
    return timestamp[:13]


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

"""Naming and validation rules for stored files."""

import re
import unicodedata

MAX_FILENAME_LENGTH = 255
_CONTROL_OR_SEPARATOR = re.compile(r"[\x00-\x1f\x7f/\\]")


def object_key(user_id: str, file_id: str) -> str:
    """The R2 key of a file: no segment of it comes from the client."""
    return f"uploads/{user_id}/{file_id}"


def cache_key(user_id: str, file_id: str) -> str:
    """The KV key of a file's metadata. It includes the owner, so a cache hit can never hand
    one user's file to another."""
    return f"file:{user_id}:{file_id}"


def clean_filename(raw: str) -> str:
    """The last path segment of `raw`, without control characters, capped in length.

    Raises ValueError when nothing usable is left.
    """
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL_OR_SEPARATOR.sub("", name).strip().strip(".")
    if not name:
        raise ValueError("filename is empty once paths and control characters are removed")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            name = stem[: MAX_FILENAME_LENGTH - len(suffix) - 1] + "." + suffix
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name


def parse_content_length(header: str | None, limit: int) -> int:
    """The declared body size. Raises LookupError when absent, ValueError when malformed and
    OverflowError when over `limit`."""
    if header is None:
        raise LookupError("Content-Length is required")
    if not header.isdigit():
        raise ValueError("Content-Length must be a non-negative integer")
    size = int(header)
    if size > limit:
        raise OverflowError(f"the file is {size} bytes; the limit is {limit}")
    return size


def base_content_type(header: str | None) -> str:
    return (header or "application/octet-stream").split(";", 1)[0].strip().lower()

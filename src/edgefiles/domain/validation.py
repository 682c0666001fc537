"""Validation of request bodies and headers. Every failure is a Problem a client can act on."""

import re
from dataclasses import dataclass
from typing import Any

from edgefiles.domain.filenames import clean_filename
from edgefiles.domain.files import base_content_type
from edgefiles.domain.json_input import JsonRejected, parse_json
from edgefiles.domain.numbers import is_decimal
from edgefiles.domain.problems import Problem

MAX_DESCRIPTION_LENGTH = 1000
MAX_JSON_BODY = 16 * 1024
MIN_LINK_SECONDS = 60
MAX_LINK_SECONDS = 7 * 24 * 3600
USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}\Z")
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


def parse_json_object(text: str) -> dict[str, Any]:
    if len(text) > MAX_JSON_BODY:
        raise Problem(413, f"JSON bodies are limited to {MAX_JSON_BODY} bytes")
    try:
        data = parse_json(text)
    except JsonRejected as error:
        raise Problem(400, f"The body is not valid JSON: {error.args[0]}") from None
    if not isinstance(data, dict):
        raise Problem(400, "The body must be a JSON object")
    return data


def _field(data: dict[str, Any], name: str, kind: type, *, required: bool = True) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise Problem(400, f"'{name}' is required")
        return None
    # bool is an int in Python; a JSON true is never a size or a number of seconds.
    if isinstance(value, bool) or not isinstance(value, kind):
        raise Problem(400, f"'{name}' must be {'an integer' if kind is int else 'a string'}")
    return value


def filename(raw: str) -> str:
    try:
        return clean_filename(raw)
    except ValueError as error:
        raise Problem(400, str(error)) from None


def description(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > MAX_DESCRIPTION_LENGTH:
        raise Problem(400, f"description is limited to {MAX_DESCRIPTION_LENGTH} characters")
    return raw.strip() or None


def content_type(raw: str | None, allowed: frozenset[str]) -> str:
    value = base_content_type(raw)
    if value not in allowed:
        raise Problem(415, f"{value} is not an accepted content type", extra={"accepted": sorted(allowed)})
    return value


def size(value: int, limit: int) -> int:
    if value < 0:
        raise Problem(400, "size must not be negative")
    if value > limit:
        raise Problem(413, f"the file is {value} bytes; the limit is {limit}")
    return value


def sha256_hex(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = raw.strip().lower()
    if not _SHA256.match(value):
        raise Problem(400, "X-Checksum-SHA256 must be 64 hexadecimal digits")
    return value


def user_id(data: dict[str, Any]) -> str:
    value = _field(data, "user_id", str)
    if not USER_ID_PATTERN.match(value):
        raise Problem(400, "user_id must be 1-64 characters: letters, digits, '_', '.', '@', '-'")
    return value


def link_lifetime(data: dict[str, Any], default: int = 3600) -> int:
    value = _field(data, "expires_in", int, required=False)
    value = default if value is None else value
    if not MIN_LINK_SECONDS <= value <= MAX_LINK_SECONDS:
        raise Problem(400, f"expires_in must be between {MIN_LINK_SECONDS} and {MAX_LINK_SECONDS} seconds")
    return value


@dataclass(frozen=True)
class NewUpload:
    filename: str
    content_type: str
    size: int
    description: str | None


def new_upload(data: dict[str, Any], *, allowed: frozenset[str], limit: int) -> NewUpload:
    return NewUpload(
        filename=filename(_field(data, "filename", str)),
        content_type=content_type(_field(data, "content_type", str), allowed),
        size=size(_field(data, "size", int), limit),
        description=description(_field(data, "description", str, required=False)),
    )


def page_limit(raw: str | None, default: int = 20, maximum: int = 100) -> int:
    if raw is None:
        return default
    if not is_decimal(raw, max_digits=3) or not 1 <= int(raw) <= maximum:
        raise Problem(400, f"limit must be an integer from 1 to {maximum}")
    return int(raw)


_RECORD_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")


def record_id_like(value: str) -> bool:
    """Whether `value` could be a share link or file request id (domain/sharing.py)."""
    return bool(_RECORD_ID.match(value))

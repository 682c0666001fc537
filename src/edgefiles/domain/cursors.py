"""Opaque keyset-pagination cursors: the (created_at, id) of the last item of a page."""

import base64
import binascii
import json

from edgefiles.domain.json_input import JsonRejected, parse_json

# A cursor this module writes is about 100 characters; anything much longer is not one.
MAX_CURSOR_LENGTH = 256


def encode_cursor(created_at: str, file_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, file_id]).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    """Raises ValueError for anything this module did not produce."""
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise ValueError("invalid cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = parse_json(raw, max_depth=1)
    except (binascii.Error, JsonRejected, ValueError) as error:
        raise ValueError("invalid cursor") from error
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(part, str) for part in value):
        raise ValueError("invalid cursor")
    created_at, file_id = value
    # One spelling per cursor: only what encode_cursor writes.
    if encode_cursor(created_at, file_id) != cursor:
        raise ValueError("invalid cursor")
    return created_at, file_id

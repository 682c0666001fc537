"""Which path parameters can name something, checked before any binding sees them.

Every id this service issues is a lowercase UUID and every key prefix 12 hex digits; anything
else names nothing, so it is answered as missing without a D1, KV or R2 call (a 600-character id
would otherwise reach KV, whose keys are limited to 512 bytes, and fail as a 500).
"""

import re

from edgefiles.domain.problems import Problem, not_found

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_KEY_PREFIX = re.compile(r"[0-9a-f]{12}")
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")  # share links and file requests
# A signed token for a UUID and a 10-digit expiry is 108 characters; leave room, refuse absurd.
MAX_TOKEN_LENGTH = 256


def is_uuid(text: str) -> bool:
    return _UUID.fullmatch(text) is not None


def check_path_parameters(params: dict[str, str]) -> None:
    """Raises the Problem a malformed parameter gets: the same one as for an unknown id."""
    for name, value in params.items():
        if name == "file_id" and not is_uuid(value):
            raise not_found()
        if name == "folder_id" and value != "root" and not is_uuid(value):
            raise Problem(404, "No such folder")
        if name == "upload_id" and not is_uuid(value):
            raise Problem(404, "No such upload in progress")
        if name == "prefix" and _KEY_PREFIX.fullmatch(value) is None:
            raise Problem(404, "No such active key")
        if name == "token" and len(value) > MAX_TOKEN_LENGTH:
            raise Problem(403, "This link is not valid")
        if name == "link_id" and _RECORD_ID.fullmatch(value) is None:
            raise Problem(404, "No such link")
        if name == "request_id" and _RECORD_ID.fullmatch(value) is None:
            raise Problem(404, "No such file request")
        if name == "user_id" and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}", value) is None:
            raise Problem(404, "No such user")

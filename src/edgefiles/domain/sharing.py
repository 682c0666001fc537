"""Share links and file requests as records: what creating one accepts, and the subjects their
signed tokens carry. Pure: unit-tested in CPython.

A token (domain/signing.py) names `link:<id>` or `request:<id>`; the record in D1 is the
authority, so revoking the record revokes the URL at once. Tokens from before records named a
file id; they keep working until they expire (at most MAX_LINK_SECONDS after they were made)."""

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from edgefiles.domain import passwords, tree_requests
from edgefiles.domain.filenames import clean_label
from edgefiles.domain.problems import Problem
from edgefiles.domain.validation import MIN_LINK_SECONDS, content_type

LINK_SUBJECT = "link:"
REQUEST_SUBJECT = "request:"
# Records can be revoked, so they may live longer than the old self-contained links (7 days).
MAX_RECORD_SECONDS = 90 * 24 * 3600
DEFAULT_LINK_SECONDS = 3600
DEFAULT_REQUEST_SECONDS = 7 * 24 * 3600
MAX_LABEL_LENGTH = 200
MAX_DOWNLOADS = 1_000_000
MAX_REQUEST_FILES = 10_000
_RECORD_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")


@dataclass(frozen=True)
class NewLink:
    lifetime: int
    password: str | None
    max_downloads: int | None
    label: str | None


@dataclass(frozen=True)
class NewFileRequest:
    lifetime: int
    password: str | None
    max_files: int | None
    max_file_size: int
    allowed_types: tuple[str, ...]
    label: str | None
    folder_id: str = ""  # where what it receives goes ('' is the root)


def _integer(data: dict[str, Any], name: str, low: int, high: int, default: int | None) -> int | None:
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Problem(400, f"'{name}' must be an integer from {low} to {high}")
    return value


def _label(data: dict[str, Any]) -> str | None:
    value = data.get("label")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_LABEL_LENGTH:
        raise Problem(400, f"'label' must be a string of at most {MAX_LABEL_LENGTH} characters")
    # Shown to whoever holds the URL: nothing hidden or reordered (as filenames).
    return clean_label(value) or None


def _password(data: dict[str, Any]) -> str | None:
    value = data.get("password")
    return None if value is None else passwords.check_policy(value)


def _known(data: dict[str, Any], names: set[str]) -> None:
    unknown = sorted(set(data) - names)
    if unknown:
        raise Problem(400, f"Unknown field(s): {', '.join(unknown[:5])}")


def new_link(data: dict[str, Any]) -> NewLink:
    _known(data, {"expires_in", "password", "max_downloads", "label"})
    lifetime = _integer(data, "expires_in", MIN_LINK_SECONDS, MAX_RECORD_SECONDS, DEFAULT_LINK_SECONDS)
    return NewLink(
        lifetime=lifetime,
        password=_password(data),
        max_downloads=_integer(data, "max_downloads", 1, MAX_DOWNLOADS, None),
        label=_label(data),
    )


def new_file_request(data: dict[str, Any], *, allowed: frozenset[str], max_file_size: int) -> NewFileRequest:
    _known(data, {"expires_in", "password", "max_files", "max_file_size", "allowed_types", "label", "folder_id"})
    types = data.get("allowed_types")
    if types is None:
        chosen = tuple(sorted(allowed))
    else:
        if (
            not isinstance(types, list)
            or not 1 <= len(types) <= len(allowed)
            or not all(isinstance(t, str) for t in types)
        ):
            raise Problem(400, "'allowed_types' must be a non-empty list of accepted content types")
        chosen = tuple(sorted({content_type(t, allowed) for t in types}))
    return NewFileRequest(
        lifetime=_integer(data, "expires_in", MIN_LINK_SECONDS, MAX_RECORD_SECONDS, DEFAULT_REQUEST_SECONDS),
        password=_password(data),
        max_files=_integer(data, "max_files", 1, MAX_REQUEST_FILES, None),
        max_file_size=_integer(data, "max_file_size", 1, max_file_size, max_file_size),
        allowed_types=chosen,
        label=_label(data),
        folder_id=tree_requests.folder_id(data.get("folder_id")),
    )


def record_id(subject: str, prefix: str) -> str | None:
    """The record id a token's subject names under `prefix`, or None."""
    if not subject.startswith(prefix):
        return None
    value = subject[len(prefix) :]
    return value if _RECORD_ID.match(value) else None


def form_password(body: bytes) -> str | None:
    """The `password` field of an application/x-www-form-urlencoded body (the link's form)."""
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=4, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    values = fields.get("password")
    return values[0] if values else None


def link_state(*, revoked: bool, expired: bool, exhausted: bool, file_state: str = "stored") -> str:
    """What a link does if used now: "active" serves; every other state says why it does not
    ("file_trashed": until the file is restored; "file_deleted": never again)."""
    if revoked:
        return "revoked"
    if expired:
        return "expired"
    if file_state != "stored":
        return f"file_{file_state}"
    return "exhausted" if exhausted else "active"

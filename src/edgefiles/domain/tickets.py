"""Event-stream tickets: what a browser presents to open a WebSocket, since it cannot set an
Authorization header on one and an API key must never sit in a URL. A ticket names its user (so
the Worker knows which Durable Object redeems it) and carries 192 random bits; the object keeps
it for a minute and accepts it once."""

import base64
import binascii
import re
import secrets

from edgefiles.domain.validation import USER_ID_PATTERN

TICKET_SECONDS = 60
_TICKET = re.compile(r"([A-Za-z0-9_-]{1,88})\.([A-Za-z0-9_-]{32})")


def new_ticket(user_id: str) -> str:
    owner = base64.urlsafe_b64encode(user_id.encode()).decode().rstrip("=")
    return f"{owner}.{secrets.token_urlsafe(24)}"


def ticket_owner(ticket: str) -> str | None:
    """The user a well-formed ticket names; None for anything else (it is not worth a lookup)."""
    match = _TICKET.fullmatch(ticket)
    if match is None:
        return None
    encoded = match.group(1)
    try:
        user_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user_id if USER_ID_PATTERN.fullmatch(user_id) else None

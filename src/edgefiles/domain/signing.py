"""Signed download links: R2 bindings cannot presign, so the Worker signs its own tokens.

A token is `base64url(file_id:expires_at).base64url(HMAC-SHA256(key, payload))`.
"""

import base64
import binascii
import hashlib
import hmac
import re

from edgefiles.domain.numbers import is_decimal

# Unpadded base64url on both sides: one spelling per token.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")


class InvalidToken(ValueError):
    """Altered, truncated or signed with another key."""


class ExpiredToken(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Decodes only the canonical spelling: base64 ignores the low bits of a last character
    that carries fewer than six, so without this check one token had four valid spellings."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def sign(file_id: str, expires_at: int, key: bytes) -> str:
    payload = f"{file_id}:{expires_at}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify(token: str, key: bytes, now: int, max_lifetime: int) -> str:
    """The subject a token grants (a file id, or `link:<id>` / `request:<id>`), or InvalidToken /
    ExpiredToken. A token that expires later than `max_lifetime` seconds from now was never
    issued by this service (a leaked key could otherwise sign links that never expire)."""
    return claims(token, key, now, max_lifetime)[0]


def claims(token: str, key: bytes, now: int, max_lifetime: int) -> tuple[str, int]:
    """(subject, expires_at) of a valid token; see verify."""
    if not _TOKEN.match(token):
        raise InvalidToken("malformed token")
    encoded_payload, _, encoded_mac = token.partition(".")
    try:
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
    except (binascii.Error, ValueError):
        raise InvalidToken("malformed token") from None
    if not hmac.compare_digest(mac, _mac(key, payload)):
        raise InvalidToken("bad signature")
    file_id, _, expires = payload.decode(errors="replace").rpartition(":")
    if not file_id or not is_decimal(expires):
        raise InvalidToken("malformed payload")
    if int(expires) <= now:
        raise ExpiredToken("link expired")
    if int(expires) > now + max_lifetime:
        raise InvalidToken("expiry beyond the longest lifetime a link can have")
    return file_id, int(expires)

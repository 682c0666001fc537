"""API keys: `ef_<prefix>_<secret>`. The prefix finds the key's row; only a SHA-256 hash of the
whole key is stored, and it is compared in constant time (api/auth.py)."""

import base64
import binascii
import hashlib
import hmac
import re
import secrets

_KEY = re.compile(r"^ef_([0-9a-f]{12})_[A-Za-z0-9_-]{43}\Z")


def mint() -> tuple[str, str]:
    """A new (prefix, key). The key is shown once; store only hash_key(key)."""
    prefix = secrets.token_hex(6)
    return prefix, f"ef_{prefix}_{secrets.token_urlsafe(32)}"


def prefix_of(key: str) -> str | None:
    match = _KEY.match(key)
    return match.group(1) if match else None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def basic_password(authorization: str | None) -> str | None:
    """The password of HTTP Basic credentials (RFC 7617; WebDAV clients send the API key so, with
    any user name), or None."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon and password else None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets of any length."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest())

"""Passwords of share links and file requests: stored as a slow salted hash, never in a URL.

The hash is PBKDF2-HMAC-SHA256, stored as `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64url).
workerd's WebCrypto refuses more than 100,000 PBKDF2 iterations, so that is the count. The
derivation itself runs in WebCrypto (services/passwords.py); this module is the pure part:
the policy, the stored form and the comparison, checked in CPython against hashlib."""

import base64
import binascii
import contextlib
import hmac
import unicodedata
from urllib.parse import unquote

from edgefiles.domain.problems import Problem

ALGORITHM = "pbkdf2-sha256"
ITERATIONS = 100_000
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 256


def check_policy(password: object) -> str:
    """The password a link or request is created with, or 400."""
    if not isinstance(password, str):
        raise Problem(400, "'password' must be a string")
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise Problem(400, f"'password' must be {MIN_LENGTH} to {MAX_LENGTH} characters")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in password):
        raise Problem(400, "'password' must not contain control characters")
    # A header value loses the spaces at its ends on the way: such a password could only ever
    # be typed into the form.
    if password != password.strip():
        raise Problem(400, "'password' must not begin or end with spaces")
    return password


def header_candidates(value: str) -> list[str]:
    """What a password sent in a header may be. Header values arrive as Latin-1 text, so a
    client that sent UTF-8 bytes (curl, most tools) is read back as UTF-8; a browser cannot put
    non-Latin-1 text in a header and percent-encodes it (encodeURIComponent). The value as it
    came is tried first, so an ASCII password with a literal % still matches."""
    candidates = [value]
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        candidates.append(value.encode("latin-1").decode("utf-8"))
    if "%" in value:
        candidates.append(unquote(value, errors="strict") if _decodable(value) else value)
    unique: list[str] = []
    for candidate in candidates:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def _decodable(value: str) -> bool:
    try:
        unquote(value, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(salt: bytes, iterations: int, digest: bytes) -> str:
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def decode(stored: str) -> tuple[bytes, int, bytes]:
    """(salt, iterations, hash) of a stored hash; ValueError for anything else."""
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM or not parts[1].isdigit():
        raise ValueError("not a stored password hash")
    try:
        return _unb64(parts[2]), int(parts[1]), _unb64(parts[3])
    except (binascii.Error, ValueError):
        raise ValueError("not a stored password hash") from None


def matches(stored_hash: bytes, derived: bytes) -> bool:
    return hmac.compare_digest(stored_hash, derived)

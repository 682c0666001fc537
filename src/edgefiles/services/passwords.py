"""Deriving password hashes with WebCrypto's PBKDF2 (domain/passwords.py has the stored form).

WebCrypto rather than hashlib: 100,000 iterations of HMAC-SHA256 run natively there, and would
take the interpreter (WebAssembly) several times as long on the request's CPU budget."""

import logging
import secrets
from typing import Any

import js
from pyodide.ffi import to_js

from edgefiles.domain import passwords
from edgefiles.domain.problems import Problem, unavailable

logger = logging.getLogger(__name__)

# Wrong passwords allowed per minute: to one client of a link or file request, and to all of
# them together (which bounds a guesser with many addresses, at the price of locking the URL
# for a minute under such an attack). Counted in the owner's UserStats (durable_objects/ledger.py).
ATTEMPT_WINDOW_MS = 60_000
WRONG_PER_CLIENT = 10
WRONG_PER_RECORD = 100


async def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    subtle = js.crypto.subtle
    material = await subtle.importKey("raw", to_js(password.encode("utf-8")), "PBKDF2", False, to_js(["deriveBits"]))
    params = to_js(
        {"name": "PBKDF2", "hash": "SHA-256", "salt": to_js(salt), "iterations": iterations},
        dict_converter=js.Object.fromEntries,
    )
    bits = await subtle.deriveBits(params, material, passwords.HASH_BYTES * 8)
    return bits.to_bytes()


async def hash_password(password: str) -> str:
    salt = secrets.token_bytes(passwords.SALT_BYTES)
    return passwords.encode(salt, passwords.ITERATIONS, await _derive(password, salt, passwords.ITERATIONS))


async def verify_password(password: str, stored: str) -> bool:
    try:
        salt, iterations, expected = passwords.decode(stored)
    except ValueError:
        return False
    return passwords.matches(expected, await _derive(password, salt, iterations))


async def check_attempt(
    services: Any, owner: str, record_id: str, client: str, supplied: list[str], stored: str
) -> bool:
    """Whether one of the `supplied` readings of a password is the record's; 429 once the
    client (or everyone) has guessed wrong too often this minute. Each reading counts as one
    guess while it is checked, and stays counted if none was right."""
    limits = {f"{record_id}@{client}": WRONG_PER_CLIENT, record_id: WRONG_PER_RECORD}
    attempt = secrets.token_hex(8)
    try:
        admitted = await services.stats.begin_password_attempt(owner, attempt, limits, len(supplied), ATTEMPT_WINDOW_MS)
    except Exception:
        logger.exception("password attempts of %s could not be checked", record_id)
        raise unavailable("Password checks are") from None
    if not admitted:
        raise Problem(429, "Too many wrong passwords; try again in a minute", headers={"retry-after": "60"})
    right = False
    for candidate in supplied:
        if await verify_password(candidate, stored):
            right = True
            break
    if right:
        try:
            await services.stats.end_password_attempt(owner, attempt, True)
        except Exception as error:
            # It stays counted as a wrong one for a minute: stricter, never looser.
            logger.warning("a right password for %s was not given back (%s)", record_id, error)
    return right

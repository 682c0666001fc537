"""Deriving password hashes with WebCrypto's PBKDF2 (domain/passwords.py has the stored form).

WebCrypto rather than hashlib: 100,000 iterations of HMAC-SHA256 run natively there, and would
take the interpreter (WebAssembly) several times as long on the request's CPU budget."""

import secrets

import js
from pyodide.ffi import to_js

from edgefiles.domain import passwords


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

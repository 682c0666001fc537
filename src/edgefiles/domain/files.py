"""Naming and validation rules for stored files."""

import re
import unicodedata

from edgefiles.domain.numbers import is_decimal

MAX_FILENAME_LENGTH = 255
_SEPARATOR = re.compile(r"[/\\]")
# Characters that change how a name reads without being seen: controls (C0, DEL, C1), format
# characters (bidi embeddings, overrides and isolates such as U+202E, which made
# "invoice\u202egnp.exe" list as "invoiceexe.png"; soft hyphens; zero-width spaces; tags),
# line and paragraph separators, and lone surrogates.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Zero-width (non-)joiners are format characters that scripts such as Persian and Devanagari
# need to spell words correctly; they change no order and hide no character.
_JOINERS = frozenset({"\u200c", "\u200d"})
# Characters that render as nothing although their category is a letter, mark or symbol:
# Unicode's Default_Ignorable_Code_Point set (DerivedCoreProperties.txt: Hangul fillers,
# the combining grapheme joiner, variation selectors, ...), the blank Braille pattern, and the
# noncharacters. The joiners above are kept.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\ufdd0-\ufdef\ufffe\uffff"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
    "|[\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U000efffe\U000effff"
    "\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
)


def object_key(user_id: str, file_id: str) -> str:
    """The R2 key of a file: no segment of it comes from the client."""
    return f"uploads/{user_id}/{file_id}"


def cache_key(user_id: str, file_id: str) -> str:
    """The KV key of a file's metadata. It includes the owner, so a cache hit can never hand
    one user's file to another."""
    return f"file:{user_id}:{file_id}"


def image_cache_key(user_id: str, sha256: str) -> str:
    """The KV key of an image's analysis. Per owner, never global: see services/analysis.py."""
    return f"ai:image:{user_id}:{sha256}"


def clean_filename(raw: str) -> str:
    """The last path segment of `raw`, without characters that hide or reorder others, capped
    in length.

    Raises ValueError when nothing usable is left.
    """
    name = _SEPARATOR.sub("/", unicodedata.normalize("NFC", raw)).rsplit("/", 1)[-1]
    name = _INVISIBLE.sub("", name)
    name = "".join(ch for ch in name if ch in _JOINERS or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    name = name.strip().strip(".\u200c\u200d").strip()
    if not name:
        raise ValueError("filename is empty once paths and control characters are removed")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            name = stem[: MAX_FILENAME_LENGTH - len(suffix) - 1] + "." + suffix
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name


def parse_content_length(header: str | None, limit: int) -> int:
    """The declared body size. Raises LookupError when absent, ValueError when malformed and
    OverflowError when over `limit`."""
    if header is None:
        raise LookupError("Content-Length is required")
    if not is_decimal(header):
        raise ValueError("Content-Length must be a non-negative integer")
    size = int(header)
    if size > limit:
        raise OverflowError(f"the file is {size} bytes; the limit is {limit}")
    return size


def base_content_type(header: str | None) -> str:
    return (header or "application/octet-stream").split(";", 1)[0].strip().lower()

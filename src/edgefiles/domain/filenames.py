"""Filenames as users will read them: the last path segment, nothing hidden, nothing reordered.

A name is shown in lists, in download dialogs and in `Content-Disposition`, so it must read as
what it is. Removed: controls (C0, DEL, C1); format characters (bidi embeddings, overrides and
isolates such as U+202E, which made "invoice\\u202egnp.exe" list as "invoiceexe.png"; soft
hyphens; zero-width spaces; tags); line and paragraph separators; lone surrogates; and the
characters that render as nothing although they are letters, marks or symbols: Unicode's
Default_Ignorable_Code_Point set (DerivedCoreProperties.txt: Hangul fillers, the combining
grapheme joiner, variation selectors), the blank Braille pattern and the noncharacters. Runs of
spaces become one space, so an extension cannot be pushed out of sight.

Zero-width (non-)joiners stay where a script needs them (Persian, Devanagari, emoji sequences):
between two letters, marks or symbols, never in a run or at either end.
"""

import re
import unicodedata

MAX_FILENAME_LENGTH = 255
_SEPARATOR = re.compile(r"[/\\]")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_JOINERS = frozenset({"\u200c", "\u200d"})
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\ufdd0-\ufdef"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
_SPACES = re.compile(r"\s+")
# What a joiner may stand between: letters, marks, and symbols (emoji sequences).
_JOINABLE = ("L", "M", "So", "Sk")


def _is_noncharacter(char: str) -> bool:
    return ord(char) & 0xFFFE == 0xFFFE


def _joinable(char: str) -> bool:
    return char not in _JOINERS and unicodedata.category(char).startswith(_JOINABLE)


def visible(name: str) -> str:
    """`name` without the characters that render as nothing or reorder text."""
    name = _IGNORABLE.sub("", name)
    kept = [
        char
        for char in name
        if char in _JOINERS or (unicodedata.category(char) not in _INVISIBLE_CATEGORIES and not _is_noncharacter(char))
    ]
    return "".join(
        char
        for i, char in enumerate(kept)
        if char not in _JOINERS or (0 < i < len(kept) - 1 and _joinable(kept[i - 1]) and _joinable(kept[i + 1]))
    )


def clean_label(raw: str) -> str:
    """A short text shown to others (a link's or file request's label) as it reads: the same
    removals as a filename, runs of spaces as one; may be empty."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", visible(raw))).strip()


def clean_filename(raw: str) -> str:
    """The last path segment of `raw` as it reads, capped in length. Raises ValueError when
    nothing usable is left."""
    name = _SEPARATOR.sub("/", raw).rsplit("/", 1)[-1]
    # Normalised after the removals, so a mark that followed a removed character composes.
    name = unicodedata.normalize("NFC", visible(name))
    name = _SPACES.sub(" ", name).strip().strip(".").strip()
    if not name:
        raise ValueError("filename is empty once paths and control characters are removed")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            name = stem[: MAX_FILENAME_LENGTH - len(suffix) - 1] + "." + suffix
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name

"""Names within folders, and paths made of them.

A name given for a folder, or as a segment of a path (WebDAV, tus metadata), is refused when it
is not usable as it stands — never rewritten, because a client that wrote "a  b.txt" or
".DS_Store" must find it again under the same name. Names are compared as stored: NFC, case and
spaces kept. (Filenames sent to the API's upload routes keep the older, forgiving rule of
domain/filenames.clean_filename: the last segment, cleaned.)
"""

import unicodedata

from edgefiles.domain.filenames import MAX_FILENAME_LENGTH, visible

# Folders nest at most this deep: walking up to the root is bounded, and so is every path.
MAX_DEPTH = 32
MAX_PATH_LENGTH = 4096
ROOT = ""


def segment(raw: str) -> str:
    """A usable name, NFC-normalised. Raises ValueError saying why it is not."""
    name = unicodedata.normalize("NFC", raw)
    if not name:
        raise ValueError("a name must not be empty")
    if name in (".", ".."):
        raise ValueError(f"'{name}' cannot be a name")
    if "/" in name or "\\" in name:
        raise ValueError("a name must not contain '/' or '\\'")
    if visible(name) != name:
        raise ValueError("a name must not contain control, format or invisible characters")
    if name != name.strip():
        raise ValueError("a name must not start or end with a space")
    if len(name) > MAX_FILENAME_LENGTH:
        raise ValueError(f"a name must be at most {MAX_FILENAME_LENGTH} characters")
    return name


def split(path: str) -> list[str]:
    """The segments of a '/'-separated path, each checked; '' and '/' are the root ([]).
    Empty segments (a trailing slash, '//') are ignored, as file systems do."""
    if len(path) > MAX_PATH_LENGTH:
        raise ValueError(f"a path must be at most {MAX_PATH_LENGTH} characters")
    names = [segment(part) for part in path.split("/") if part != ""]
    if len(names) > MAX_DEPTH + 1:
        raise ValueError(f"a path must have at most {MAX_DEPTH + 1} segments")
    return names


def numbered(name: str, n: int | str) -> str:
    """The n-th alternative to a name that is taken: "q3.pdf" -> "q3 (2).pdf"; a leading dot
    is not an extension (".env" -> ".env (2)")."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        stem, extension = name, ""
    else:
        extension = "." + extension
    suffix = f" ({n})"
    return stem[: MAX_FILENAME_LENGTH - len(suffix) - len(extension)] + suffix + extension


def numbered_prefix(name: str) -> str:
    """What every numbered(name, n) starts with (to find those already taken)."""
    return numbered(name, 2).rsplit(" (2)", 1)[0] + " ("


def first_free(name: str, taken: set[str], *, limit: int = 10_000) -> str:
    """`name` if it is free, else its first numbered alternative that is."""
    if name not in taken:
        return name
    for n in range(2, limit):
        candidate = numbered(name, n)
        if candidate not in taken:
            return candidate
    raise ValueError("no free name")

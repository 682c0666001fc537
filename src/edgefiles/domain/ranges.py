"""HTTP Range requests (RFC 9110 §14): one byte range per request."""

import re
from dataclasses import dataclass

from edgefiles.domain.numbers import MAX_DIGITS

# ASCII digits only (`\d` would take any script's digits).
_SINGLE = re.compile(r"^bytes=([0-9]*)-([0-9]*)\Z")
# Larger than any file: what a position of more than MAX_DIGITS digits stands for.
_BEYOND_ANY_FILE = 10**MAX_DIGITS


class Unsatisfiable(ValueError):
    """The range lies outside the representation: answer 416."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def _position(digits: str) -> int:
    """The number, without ever converting thousands of digits (int() refuses past 4,300)."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= MAX_DIGITS else _BEYOND_ANY_FILE


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The requested range, or None to send the whole body.

    Headers we do not understand (other units, several ranges, bad syntax) are ignored, as
    RFC 9110 allows; a well-formed range past the end raises Unsatisfiable.
    """
    if not header:
        return None
    match = _SINGLE.match(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        suffix = _position(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = _position(first)
    if last and _position(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable(header)
    end = size - 1 if not last else min(_position(last), size - 1)
    return ByteRange(start, end)

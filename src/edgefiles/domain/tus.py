"""tus 1.0 (https://tus.io/protocols/resumable-upload): its headers, and how the bytes of one
PATCH become R2 parts.

R2 wants every part but the last of one size P (domain/multipart.plan); a tus client sends
chunks of any size at any offset it was told. Part n covers [(n-1)P, nP). A PATCH's bytes first
complete the part the upload is in — streamed into R2 behind the segments (temporary objects)
that hold the part's earlier bytes — then fill whole parts, and what is left, less than a part,
becomes one more segment. A part's few segments are read once, when it completes; past
MAX_SEGMENTS the new segment takes the earlier ones into itself, so a client that sends tiny
chunks costs a bounded number of objects, never a buffer.
"""

import base64
import binascii
import re
from dataclasses import dataclass, field
from email.utils import formatdate

VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "termination", "expiration", "checksum")
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
OFFSET_TYPE = "application/offset+octet-stream"
# The IETF draft "Resumable Uploads for HTTP" (httpwg/http-extensions) in the interop versions
# tus-js-client speaks: 5 (its 'ietf-draft-03') and 6 ('ietf-draft-05', whose PATCH bodies are
# application/partial-upload). Same state machine, other headers.
INTEROP_VERSIONS = ("5", "6")
PARTIAL_UPLOAD_TYPE = "application/partial-upload"
MAX_METADATA_LENGTH = 4096
SEGMENT_PREFIX = "tus/"  # R2 keys of the temporary segments: tus/<upload id>/<epoch>-<offset>
MAX_SEGMENTS = 8
_KEY = re.compile(r"^[\x21-\x2b\x2d-\x7e]+\Z")  # visible ASCII without ','
_DECIMAL = re.compile(r"^[0-9]{1,16}\Z")


class TusHeaderError(ValueError):
    """A tus header is malformed; its message says which and why."""


def segment_prefix(upload_id: str) -> str:
    return f"{SEGMENT_PREFIX}{upload_id}/"


def decimal(raw: str | None, name: str) -> int:
    if raw is None:
        raise TusHeaderError(f"{name} is required")
    value = raw.strip()
    if not _DECIMAL.match(value):
        raise TusHeaderError(f"{name} must be a non-negative integer")
    return int(value)


def structured_boolean(raw: str | None, name: str) -> bool | None:
    """An RFC 8941 boolean header (?1 / ?0), or None when absent."""
    if raw is None:
        return None
    value = raw.strip()
    if value not in ("?0", "?1"):
        raise TusHeaderError(f"{name} must be ?0 or ?1")
    return value == "?1"


def parse_metadata(raw: str | None) -> dict[str, str | None]:
    """Upload-Metadata: comma-separated `key base64value` pairs (the value may be absent).
    Values are decoded as UTF-8; a key may appear once."""
    if raw is None or not raw.strip():
        return {}
    if len(raw) > MAX_METADATA_LENGTH:
        raise TusHeaderError(f"Upload-Metadata must be at most {MAX_METADATA_LENGTH} characters")
    pairs: dict[str, str | None] = {}
    for item in raw.split(","):
        parts = item.strip().split(" ")
        if len(parts) > 2 or not _KEY.match(parts[0]):
            raise TusHeaderError("Upload-Metadata must be `key base64value` pairs separated by commas")
        key = parts[0]
        if key in pairs:
            raise TusHeaderError(f"Upload-Metadata names {key!r} twice")
        if len(parts) == 1:
            pairs[key] = None
            continue
        try:
            pairs[key] = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise TusHeaderError(f"Upload-Metadata's {key!r} is not base64 of UTF-8 text") from None
    return pairs


def parse_checksum(raw: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum: `algorithm base64digest`, or None when absent."""
    if raw is None:
        return None
    parts = raw.strip().split(" ")
    if len(parts) != 2:
        raise TusHeaderError("Upload-Checksum must be `algorithm base64digest`")
    algorithm = parts[0].lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise TusHeaderError(f"Upload-Checksum's algorithm must be one of {', '.join(CHECKSUM_ALGORITHMS)}")
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise TusHeaderError("Upload-Checksum's digest is not base64") from None
    expected = {"sha1": 20, "sha256": 32, "md5": 16}[algorithm]
    if len(digest) != expected:
        raise TusHeaderError(f"Upload-Checksum's {algorithm} digest must be {expected} bytes")
    return algorithm, digest


def http_date(epoch_seconds: float) -> str:
    """An IMF-fixdate (RFC 9110), as Upload-Expires is written."""
    return formatdate(epoch_seconds, usegmt=True)


@dataclass(frozen=True)
class Segment:
    key: str
    start: int
    length: int

    def as_json(self) -> dict[str, object]:
        return {"key": self.key, "start": self.start, "length": self.length}

    @staticmethod
    def from_json(data: dict[str, object]) -> "Segment":
        return Segment(str(data["key"]), int(data["start"]), int(data["length"]))  # type: ignore[call-overload]


@dataclass(frozen=True)
class PartWrite:
    """Part `number`: the segments' bytes, then `body_bytes` of the request body."""

    number: int
    segments: tuple[Segment, ...]
    body_bytes: int
    end: int  # the offset once it is stored

    @property
    def length(self) -> int:
        return sum(s.length for s in self.segments) + self.body_bytes


@dataclass(frozen=True)
class TailWrite:
    """A new segment at `start`: the segments it takes in (stitched), then `body_bytes`."""

    segment: Segment
    stitched: tuple[Segment, ...]
    body_bytes: int


@dataclass(frozen=True)
class PatchPlan:
    parts: list[PartWrite] = field(default_factory=list)
    tail: TailWrite | None = None
    segments_after: tuple[Segment, ...] = ()  # the upload's segments once all is stored
    end: int = 0


def plan_patch(
    *, size: int, part_size: int, offset: int, segments: tuple[Segment, ...], length: int, tail_key: str
) -> PatchPlan:
    """How `length` request bytes at `offset` are stored. `segments` hold the bytes from the
    start of offset's part up to offset; `tail_key` names the segment a tail would be."""
    if offset + length > size:
        raise ValueError("the bytes would pass the upload's length")
    end = offset + length
    pending, position, used = segments, offset, 0
    parts: list[PartWrite] = []
    while position < size:
        number = position // part_size + 1
        part_end = min(number * part_size, size)
        if end < part_end:
            break
        take = part_end - position
        parts.append(PartWrite(number, pending, take, part_end))
        used += take
        pending, position = (), part_end
    left = length - used
    if left == 0:
        return PatchPlan(parts, None, pending, end)
    if len(pending) >= MAX_SEGMENTS:
        start = pending[0].start
        tail = TailWrite(Segment(tail_key, start, end - start), pending, left)
        return PatchPlan(parts, tail, (tail.segment,), end)
    tail = TailWrite(Segment(tail_key, position, left), (), left)
    return PatchPlan(parts, tail, (*pending, tail.segment), end)

"""tus headers, and how a PATCH's bytes become equal R2 parts and bounded segments (pure)."""

import base64
import random

import pytest

from edgefiles.domain import tus
from edgefiles.domain.multipart import plan
from edgefiles.domain.tus import Segment

P = 8 * 1024 * 1024


def test_metadata_is_decoded_and_checked() -> None:
    raw = "filename " + base64.b64encode("q3 ü.pdf".encode()).decode() + ",is_confidential,filetype dGV4dC9wbGFpbg=="
    assert tus.parse_metadata(raw) == {"filename": "q3 ü.pdf", "is_confidential": None, "filetype": "text/plain"}
    assert tus.parse_metadata(None) == {} and tus.parse_metadata("  ") == {}
    for bad in [
        "a b c",
        "a !!!",
        "a YQ==,a YQ==",
        "k\u00e9y YQ==",
        "a " + base64.b64encode(b"\xff").decode(),
        "x" * 5000,
    ]:
        with pytest.raises(tus.TusHeaderError):
            tus.parse_metadata(bad)


def test_numbers_and_checksums() -> None:
    assert tus.decimal(" 42 ", "Upload-Offset") == 42
    for bad in [None, "-1", "1e3", "0x10", "9" * 17, ""]:
        with pytest.raises(tus.TusHeaderError):
            tus.decimal(bad, "Upload-Offset")
    digest = bytes(range(32))
    assert tus.parse_checksum("sha256 " + base64.b64encode(digest).decode()) == ("sha256", digest)
    assert tus.parse_checksum(None) is None
    for bad in ["sha256", "crc32 AAAA", "sha256 !!!", "sha1 " + base64.b64encode(digest).decode()]:
        with pytest.raises(tus.TusHeaderError):
            tus.parse_checksum(bad)
    assert tus.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def _replay(size: int, chunks: list[int]) -> dict[int, list[tuple[str, int, int]]]:
    """Sends `chunks` (lengths) one PATCH each; for every part, where its bytes came from, as
    (source, start, length) with source 'body' or a segment key; checks every invariant."""
    part_size, part_count = plan(size)
    offset, segments, parts, live = 0, (), {}, set()
    for i, length in enumerate(chunks):
        patch = tus.plan_patch(
            size=size, part_size=part_size, offset=offset, segments=segments, length=length, tail_key=f"s{i}"
        )
        position = offset
        for part in patch.parts:
            sources = []
            for segment in part.segments:
                assert segment.key in live
                sources.append((segment.key, segment.start, segment.length))
                live.discard(segment.key)
            sources.append(("body", position, part.body_bytes))
            position += part.body_bytes
            parts[part.number] = sources
            expected = part_size if part.number < part_count else size - part_size * (part_count - 1)
            assert part.length == expected and part.end == min(part.number * part_size, size)
        if patch.tail is not None:
            for segment in patch.tail.stitched:
                live.discard(segment.key)
            live.add(patch.tail.segment.key)
            position += patch.tail.body_bytes
        assert position == offset + length == patch.end
        segments, offset = patch.segments_after, patch.end
        assert {s.key for s in segments} == live and len(segments) <= tus.MAX_SEGMENTS
        # The segments cover exactly the bytes from the incomplete part's start to the offset.
        start = (offset // part_size) * part_size if offset < size else offset
        assert sum(s.length for s in segments) == offset - start
        assert [s.start for s in segments] == sorted(s.start for s in segments)
    assert offset == size and sorted(parts) == list(range(1, part_count + 1)) and not live
    return parts


@pytest.mark.parametrize(
    ("size", "chunk"),
    [
        (1024, 5_000_000),
        (30_000_000, 7_000_000),
        (30_000_000, 5_000_000),
        (2 * P, P),
        (P + 2, 1),
        (250_000_000, 50_000_000),
    ],
)
def test_any_chunking_makes_exact_parts(size: int, chunk: int) -> None:
    if chunk == 1:
        chunks = [P - 3, 1, 1, 1, 1, 1]  # tiny steps across a part boundary
    else:
        chunks = [chunk] * (size // chunk) + ([size % chunk] if size % chunk else [])
    _replay(size, chunks)


def test_random_chunkings_keep_every_invariant() -> None:
    rng = random.Random(16)
    for _ in range(200):
        size = rng.randint(1, 3 * P + 1000)
        chunks, left = [], size
        while left:
            step = min(left, rng.choice([1, 17, 100_000, P - 1, P, P + 1, rng.randint(1, 2 * P)]))
            chunks.append(step)
            left -= step
        _replay(size, chunks)


def test_many_small_chunks_are_stitched_into_one_segment() -> None:
    part_size, _ = plan(P * 2)
    segments, offset = (), 0
    for i in range(tus.MAX_SEGMENTS + 3):
        patch = tus.plan_patch(
            size=2 * P, part_size=part_size, offset=offset, segments=segments, length=1000, tail_key=f"k{i}"
        )
        segments, offset = patch.segments_after, patch.end
    assert len(segments) <= tus.MAX_SEGMENTS
    assert segments[0].start == 0 and sum(s.length for s in segments) == offset


def test_bytes_past_the_length_are_refused() -> None:
    with pytest.raises(ValueError):
        tus.plan_patch(size=10, part_size=P, offset=5, segments=(Segment("a", 0, 5),), length=6, tail_key="t")

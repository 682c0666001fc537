import pytest

from edgefiles.domain import multipart
from edgefiles.domain.cursors import decode_cursor, encode_cursor
from edgefiles.domain.ranges import ByteRange, Unsatisfiable, parse_range
from edgefiles.domain.sniff import matches_content


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=5-", ByteRange(5, 99)),
        ("bytes=-10", ByteRange(90, 99)),
        ("bytes=-1000", ByteRange(0, 99)),
        ("bytes=90-1000", ByteRange(90, 99)),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=9-2", None),
        ("bytes=-", None),
    ],
    ids=["none", "first-10", "open", "suffix", "suffix-larger", "clamped", "multi", "unit", "reversed", "empty"],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, 100)


def test_content_range() -> None:
    assert ByteRange(0, 9).content_range(100) == "bytes 0-9/100"
    assert ByteRange(0, 9).length == 10


def test_cursor_round_trip_and_rejection() -> None:
    assert decode_cursor(encode_cursor("2026-01-01T00:00:00.000Z", "id-1")) == ("2026-01-01T00:00:00.000Z", "id-1")
    for bad in ["", "!!!", "e30", encode_cursor("a", "b")[:-3]]:
        with pytest.raises(ValueError, match="invalid cursor"):
            decode_cursor(bad)


@pytest.mark.parametrize(
    ("content_type", "head", "ok"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\nrest", True),
        ("image/png", b"GIF89a", False),
        ("image/jpeg", b"\xff\xd8\xff\xe0", True),
        ("image/gif", b"GIF87a...", True),
        ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", True),
        ("image/webp", b"RIFF\x00\x00\x00\x00WAVE", False),
        ("application/pdf", b"%PDF-1.7", True),
        ("text/plain", "héllo".encode(), True),
        ("text/plain", "é".encode()[:1], True),
        ("text/plain", b"\xff\xfe\x00t", False),
        ("text/csv", b"a,b\x00", False),
        ("application/json", b'  {"a": 1}', True),
        ("application/json", b"<xml/>", False),
        ("application/octet-stream", b"\x00\x01", True),
        ("application/x-unknown", b"", False),
    ],
)
def test_matches_content(content_type: str, head: bytes, ok: bool) -> None:
    assert matches_content(content_type, head) is ok


@pytest.mark.parametrize(
    ("size", "part_size", "part_count"),
    [
        (1, 8 * 2**20, 1),
        (8 * 2**20, 8 * 2**20, 1),
        (8 * 2**20 + 1, 8 * 2**20, 2),
        (200 * 2**30, 21 * 2**20, 9753),
        (multipart.MAX_FILE_SIZE, 95 * 2**20, 10_000),
    ],
)
def test_multipart_plan_obeys_r2_rules(size: int, part_size: int, part_count: int) -> None:
    assert multipart.plan(size) == (part_size, part_count)
    assert part_size >= multipart.MIN_PART_SIZE
    assert part_count <= multipart.MAX_PARTS
    assert part_size <= 100_000_000  # one request through the edge of a Free or Pro zone
    last = multipart.expected_part_size(part_count, size=size, part_size=part_size, part_count=part_count)
    assert 0 < last <= part_size
    assert part_size * (part_count - 1) + last == size


def test_multipart_refuses_what_would_need_parts_over_the_request_limit() -> None:
    # Before: a 1 TB file was planned in parts of 96 MiB (100,663,296 bytes), which the edge refuses.
    assert multipart.MAX_FILE_SIZE < 10**12
    with pytest.raises(ValueError, match="at most"):
        multipart.plan(10**12)

import pytest

from edgefiles.domain.filenames import MAX_FILENAME_LENGTH, clean_filename
from edgefiles.domain.files import (
    base_content_type,
    cache_key,
    object_key,
    parse_content_length,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\photo.png", "photo.png"),
        ("bad\x00name\x1f.txt", "badname.txt"),
        ("  spaced.txt  ", "spaced.txt"),
        ("résumé.txt", "résumé.txt"),
    ],
    ids=["plain", "unix-path", "windows-path", "control-chars", "whitespace", "unicode"],
)
def test_clean_filename(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


@pytest.mark.parametrize("raw", ["", "/", "..", "\x00\x01", "dir/"], ids=["empty", "slash", "dots", "controls", "dir"])
def test_clean_filename_rejects_nothing_left(raw: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        clean_filename(raw)


def test_clean_filename_caps_length_and_keeps_extension() -> None:
    name = clean_filename("a" * 400 + ".txt")
    assert len(name) == MAX_FILENAME_LENGTH
    assert name.endswith(".txt")


def test_keys_are_scoped_to_the_owner() -> None:
    assert object_key("alice", "f1", "2026-11-27T19:48:33.123Z").split("/")[2:] == ["alice", "f1"]
    assert cache_key("alice", "f1") != cache_key("bob", "f1")


@pytest.mark.parametrize(
    ("header", "error"),
    [(None, LookupError), ("abc", ValueError), ("-1", ValueError), ("101", OverflowError)],
    ids=["missing", "not-a-number", "negative", "too-large"],
)
def test_parse_content_length_errors(header: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_content_length(header, limit=100)


def test_parse_content_length_accepts_the_limit() -> None:
    assert parse_content_length("100", limit=100) == 100


def test_base_content_type_drops_parameters() -> None:
    assert base_content_type("Text/Plain; charset=utf-8") == "text/plain"
    assert base_content_type(None) == "application/octet-stream"

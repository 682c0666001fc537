"""What an attacker sends, against the pure parts that first see it (issue 10).

Each test names the item of the adversarial review it covers. Pathological cases that used to
hang run in a child interpreter with a deadline, so a regression fails instead of blocking the
suite.
"""

import base64
import json
import sqlite3
import subprocess
import sys
import zlib
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgefiles.domain import api_keys, validation
from edgefiles.domain.cursors import decode_cursor, encode_cursor
from edgefiles.domain.filenames import clean_filename
from edgefiles.domain.files import parse_content_length
from edgefiles.domain.identifiers import check_path_parameters
from edgefiles.domain.json_input import MAX_JSON_DEPTH, JsonRejected, nesting_depth, parse_json
from edgefiles.domain.pdf_text import Budget, UnsupportedPdf, extract_text
from edgefiles.domain.problems import Problem
from edgefiles.domain.ranges import ByteRange, Unsatisfiable, parse_range
from edgefiles.domain.secrets_policy import EXAMPLE_SECRETS, MIN_SECRET_BYTES, refusal
from edgefiles.domain.signing import InvalidToken, sign, verify

ROOT = Path(__file__).resolve().parents[2]
KEY = b"k" * 32
DEEP = "[" * 5000 + "]" * 5000

# -- 2. nested JSON ------------------------------------------------------------------------


def test_item2_deeply_nested_json_body_is_a_400_not_a_crash() -> None:
    with pytest.raises(Problem) as refused:
        validation.parse_json_object(DEEP)
    assert refused.value.status == 400
    assert "nested" in refused.value.detail


def test_item2_deeply_nested_cursor_is_refused() -> None:
    cursor = base64.urlsafe_b64encode(("[" * 5500 + "]" * 5500).encode()).decode()
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(cursor)
    nested = base64.urlsafe_b64encode(b'[["a"], "b"]').rstrip(b"=").decode()
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(nested)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[[[", "]]]"]', 1),
        ('["\\"[[[["]', 1),
        ('["\\\\", [[]]]', 3),
        ("17", 0),
    ],
    ids=["object", "mixed", "brackets-in-strings", "escaped-quote", "escaped-backslash", "scalar"],
)
def test_nesting_depth_ignores_strings(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values)
def test_nesting_depth_matches_the_value(value: object) -> None:
    assert nesting_depth(json.dumps(value)) == _depth(value)


@pytest.mark.parametrize(
    "text",
    ['{"size": NaN}', '{"size": Infinity}', '{"size": -Infinity}', '{"size": ' + "9" * 5000 + "}", "[" * 33 + "]" * 33],
    ids=["nan", "infinity", "minus-infinity", "5000-digits", "33-deep"],
)
def test_json_this_service_does_not_accept(text: str) -> None:
    with pytest.raises(JsonRejected) as refused:
        parse_json(text)
    assert "sys." not in str(refused.value)  # no interpreter advice leaks into a problem detail


def test_a_non_finite_number_is_named_as_such() -> None:
    with pytest.raises(Problem) as refused:
        validation.parse_json_object('{"expires_in": NaN}')
    assert "NaN is not a JSON number" in refused.value.detail


@pytest.mark.parametrize(
    "check",
    [
        lambda: validation.user_id({"user_id": "alice\n"}),
    ],
    ids=["user-id"],
)
def test_a_trailing_newline_is_not_part_of_a_valid_value(check) -> None:
    with pytest.raises(Problem):
        check()
    assert api_keys.prefix_of(api_keys.mint()[1] + "\n") is None


@pytest.mark.parametrize(
    "text",
    ['{"a": 1e999}', '{"a": -1e400}', '"\\ud800"', '["\\udfff", "x"]'],
    ids=["huge", "huge-negative", "lone-high-surrogate", "lone-low-surrogate"],
)
def test_json_values_that_cannot_be_stored(text: str) -> None:
    with pytest.raises(JsonRejected):
        parse_json(text)


@pytest.mark.parametrize(
    "raw",
    [b'"ab"', b'{"x": 1, "y": 2}', b'["a", "b", "c"]'],
    ids=["string", "object", "three"],
)
def test_cursors_only_as_this_api_writes_them(raw: bytes) -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
    cursor = encode_cursor("2026-01-01T00:00:00.000Z", "f")
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(cursor + "!!")


def test_json_at_the_depth_limit_is_accepted() -> None:
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None


# -- 4. the PDF extractor ------------------------------------------------------------------


def _stream_pdf(content: bytes) -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Length 1 >>\nstream\n" + content + b"\nendstream\nendobj\n%%EOF"


ADVERSARIAL_PDFS = {
    # The review's file, at the size that took 218 s under CPython.
    "unterminated-streams": b"%PDF-1.4\n" + b"<<>>stream\n" * 2000,
    "unclosed-strings": _stream_pdf(b"BT " + b"(" * 200_000),
    "unclosed-arrays": _stream_pdf(b"BT " + b"[" * 200_000 + b" TJ"),
    "unclosed-blocks": _stream_pdf(b"BT (a) Tj " * 50_000),
    "unclosed-hex": _stream_pdf(b"<" + b"0 " * 200_000),
    "dictionaries-without-streams": b"%PDF-1.4\n" + b"<< /Filter /FlateDecode >>\n" * 50_000,
    "inflation-bomb": b"%PDF-1.4\n1 0 obj << /Filter /FlateDecode >>\nstream\n"
    + zlib.compress(b"1 " * 20_000_000)
    + b"\nendstream\nendobj\n",
    # Found by the review of the fix: a 4 KB file whose one 4-million-digit word a number check
    # matched in quadratic time, and literals made of millions of escapes.
    "one-huge-number": b"%PDF-1.4\n1 0 obj << /Filter /FlateDecode >>\nstream\n"
    + zlib.compress(b"BT (hello world) Tj ET\n" + b"1" * 4_194_304 + b"x Tj\n")
    + b"\nendstream\nendobj\n",
    "escapes": b"%PDF-1.4\n"
    + b"".join(
        b"%d 0 obj << /Filter /FlateDecode >>\nstream\n" % n
        + zlib.compress(b"(" + b"\\1" * 4_000_000 + b") x ")
        + b"\nendstream\nendobj\n"
        for n in range(4)
    ),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL_PDFS))
def test_item4_pdf_extractor_finishes_on_adversarial_input(name: str, tmp_path: Path) -> None:
    """In a child interpreter with a deadline far above the linear cost (milliseconds) and far
    below the old super-linear one (minutes): a regression fails rather than hangs."""
    path = tmp_path / "input.pdf"
    path.write_bytes(ADVERSARIAL_PDFS[name])
    program = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from edgefiles.domain.pdf_text import extract_text, UnsupportedPdf\n"
        "try:\n    print(len(extract_text(open(sys.argv[2], 'rb').read())))\n"
        "except UnsupportedPdf as error:\n    print('unsupported:', error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(ROOT / "src"), str(path)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_pdf_extractor_stops_at_its_work_budget() -> None:
    content = b"BT " + b"(word) Tj " * 10_000 + b"ET"
    with pytest.raises(UnsupportedPdf, match="budget"):
        extract_text(_stream_pdf(b"1 " * 10_000 + content), Budget(tokens=5_000))
    assert len(extract_text(_stream_pdf(content), Budget(text_bytes=1_000))) == 1_000


def test_pdf_extractor_stops_at_its_clock_budget() -> None:
    ticks = iter(range(10**9))
    budget = Budget(seconds=5, clock=lambda: float(next(ticks)))  # a second per look at the clock
    with pytest.raises(UnsupportedPdf, match="budget"):
        extract_text(_stream_pdf(b"1 " * 100_000), budget)


def test_pdf_literal_strings_nest() -> None:
    assert extract_text(_stream_pdf(b"BT (a (nested) string) Tj ET")) == "a (nested) string"


# -- 9. numbers and ids ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["\u00b2", "\u0665", "1\u00b2", "0", "101", " 5", "+5", "9" * 5000])
def test_item9_page_limit_takes_ascii_digits_only(raw: str) -> None:
    with pytest.raises(Problem) as refused:
        validation.page_limit(raw)
    assert refused.value.status == 400


@pytest.mark.parametrize("header", ["\u00b2", "\u0665", "9" * 5000])
def test_item9_content_length_takes_ascii_digits_only(header: str) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        parse_content_length(header, limit=100)


def test_item9_ranges_with_thousands_of_digits() -> None:
    assert parse_range("bytes=0-" + "9" * 5000, 100) == ByteRange(0, 99)
    assert parse_range("bytes=-" + "9" * 5000, 100) == ByteRange(0, 99)
    with pytest.raises(Unsatisfiable):
        parse_range("bytes=" + "9" * 5000 + "-", 100)
    assert parse_range("bytes=0-\u0665", 100) is None


@pytest.mark.parametrize(
    "params",
    [{"file_id": "a" * 600}, {"file_id": "x"}, {"upload_id": "../etc"}, {"prefix": "z" * 12}, {"token": "t" * 5000}],
    ids=["long-file-id", "short-file-id", "upload-id", "key-prefix", "token"],
)
def test_item9_malformed_path_parameters_are_refused(params: dict[str, str]) -> None:
    with pytest.raises(Problem) as refused:
        check_path_parameters(params)
    assert refused.value.status in (403, 404)


def test_well_formed_path_parameters_pass() -> None:
    check_path_parameters({"file_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "prefix": "0123456789ab"})


# -- 11. filenames -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("a\u2066b\u2069.png", "ab.png"),
        ("x\u200ey\u200f.txt", "xy.txt"),
        ("c1\u0085\u009b.txt", "c1.txt"),
        ("soft\u00adhyphen.txt", "softhyphen.txt"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("line\u2028break.txt", "linebreak.txt"),
        ("\ufeffbom.txt", "bom.txt"),
        ("a\u3164\u3164.txt", "a.txt"),
        ("b\u115f\u2800.txt", "b.txt"),
        ("c\u034f\ufe0f\ufffe.txt", "c.txt"),
        ("tag\U000e0041.txt", "tag.txt"),
        ("report\u200c\u200d\u200c.pdf", "report.pdf"),
        ("e\u200b\u0301.txt", "\u00e9.txt"),
        ("plane4\U0004fffe.txt", "plane4.txt"),
        ("invoice.pdf" + "\u2003" * 200 + ".exe", "invoice.pdf .exe"),
        ("\U0001f468\u200d\U0001f469.png", "\U0001f468\u200d\U0001f469.png"),
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt",
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt",
        ),
    ],
    ids=[
        "rlo",
        "isolates",
        "marks",
        "c1",
        "soft-hyphen",
        "zwsp",
        "line-separator",
        "bom",
        "hangul-fillers",
        "blank-braille",
        "joiner-selector-nonchar",
        "tag",
        "joiner-run",
        "mark-after-removed",
        "plane-4-nonchar",
        "spaces-hide-extension",
        "emoji-zwj-sequence",
        "persian-zwnj",
    ],
)
def test_item11_filenames_lose_characters_that_change_how_they_read(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


def test_a_name_of_only_invisible_characters_is_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        clean_filename("\u202e\u200d\u2066")


# -- 12. signed tokens ---------------------------------------------------------------------


def _spellings(token: str) -> list[str]:
    """The token with its last character replaced by every base64url character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return [token[:-1] + char for char in alphabet]


@pytest.mark.parametrize("part", ["payload", "signature"])
def test_item12_a_token_has_one_spelling(part: str) -> None:
    token = sign("0f8fad5b-d9cb-469f-a165-70867728950e", 2_000_000_000, KEY)
    payload, signature = token.split(".")
    if part == "payload":
        candidates = [f"{p}.{signature}" for p in _spellings(payload)]
    else:
        candidates = [f"{payload}.{s}" for s in _spellings(signature)]
    accepted = []
    for candidate in candidates:
        try:
            verify(candidate, KEY, 2_000_000_000 - 60, 3600)
        except InvalidToken:
            continue
        accepted.append(candidate)
    assert accepted == [token]


def test_item5_a_token_expiring_beyond_the_longest_lifetime_is_invalid() -> None:
    now = 2_000_000_000
    forged = sign("0f8fad5b-d9cb-469f-a165-70867728950e", 32503680000, KEY)  # the year 3000
    with pytest.raises(InvalidToken, match="lifetime"):
        verify(forged, KEY, now, 7 * 24 * 3600)
    assert verify(sign("f", now + 7 * 24 * 3600, KEY), KEY, now, 7 * 24 * 3600) == "f"


# -- 5. secrets ----------------------------------------------------------------------------


def _example_values() -> set[str]:
    lines = (ROOT / ".dev.vars.example").read_text().splitlines()
    return {line.split("=", 1)[1].strip().strip('"') for line in lines if "=" in line and not line.startswith("#")}


def test_item5_the_examples_shipped_are_the_ones_refused() -> None:
    assert _example_values() == set(EXAMPLE_SECRETS)
    for value in _example_values():
        assert refusal(value) is not None


@pytest.mark.parametrize("value", ["x", "a" * (MIN_SECRET_BYTES - 1), "change-me-to-something-long-enough-0123"])
def test_item5_weak_secrets_are_refused(value: str) -> None:
    assert refusal(value) is not None


def test_a_random_secret_is_accepted() -> None:
    assert refusal(base64.urlsafe_b64encode(b"\x8f" * 32).decode()) is None


# -- 7. the migration that purges what earlier deletes left ----------------------------------


def test_item7_migration_purges_text_of_files_deleted_before() -> None:
    with closing(sqlite3.connect(":memory:")) as db:
        _check_purge(db)


def _check_purge(db: sqlite3.Connection) -> None:
    migrations = sorted((ROOT / "migrations").glob("*.sql"))
    purge = next(i for i, path in enumerate(migrations) if path.name == "0004_purge_deleted_text.sql")
    for path in migrations[:purge]:
        db.executescript(path.read_text())
    columns = "id, user_id, filename, r2_key, content_type, size_bytes, status, created_at, updated_at"
    for file_id, deleted in (("gone", "2026-01-02"), ("kept", None)):
        db.execute(
            f"INSERT INTO files ({columns}, ai_analysis, description, deleted_at)"  # noqa: S608
            " VALUES (?, 'u', 'n', ?, 'text/plain', 1, 'completed', '2026', '2026', ?, ?, ?)",
            (file_id, f"k/{file_id}", '{"summary": "secret"}', "private note", deleted),
        )
        db.execute("INSERT INTO file_chunks VALUES (?, 'u', 0, 'secret text', x'00')", (file_id,))
    db.executescript(migrations[purge].read_text())
    rows = dict(db.execute("SELECT id, coalesce(ai_analysis, '') || coalesce(description, '') FROM files"))
    assert rows == {"gone": "", "kept": '{"summary": "secret"}private note'}
    assert [row[0] for row in db.execute("SELECT file_id FROM file_chunks")] == ["kept"]


def test_migration_0005_keeps_live_chunks_searchable_and_queues_their_embeddings_for_vectorize() -> None:
    with closing(sqlite3.connect(":memory:")) as db:
        migrations = sorted((ROOT / "migrations").glob("*.sql"))
        for path in migrations[:4]:
            db.executescript(path.read_text())
        columns = "id, user_id, filename, r2_key, content_type, size_bytes, status, created_at, updated_at, deleted_at"
        for file_id, deleted in (("live", None), ("dead", "2026-01-02")):
            values = "?, 'u', 'n', ?, 'text/plain', 1, 'completed', '2026', '2026', ?"
            db.execute(f"INSERT INTO files ({columns}) VALUES ({values})", (file_id, f"k/{file_id}", deleted))  # noqa: S608
            for index in range(3):
                db.execute("INSERT INTO file_chunks VALUES (?, 'u', ?, 'zebra text', x'0000803f')", (file_id, index))
        db.executescript(migrations[4].read_text())
        assert db.execute("SELECT id, chunk_count FROM files ORDER BY id").fetchall() == [("dead", 3), ("live", 3)]
        assert db.execute("SELECT DISTINCT file_id FROM chunks").fetchall() == [("live",)]
        assert db.execute("SELECT COUNT(*) FROM legacy_chunk_vectors WHERE file_id = 'live'").fetchone() == (3,)
        assert db.execute("SELECT COUNT(*) FROM legacy_chunk_vectors WHERE file_id = 'dead'").fetchone() == (0,)
        found = db.execute("SELECT COUNT(*) FROM chunk_text WHERE chunk_text MATCH 'owner:u75 AND zebra'").fetchone()
        assert found == (3,)

import zlib
from pathlib import Path

import pytest

from edgefiles.domain.pdf_text import UnsupportedPdf, extract_text
from edgefiles.domain.processing import PermanentError, describe_error, is_permanent, retry_delay
from edgefiles.domain.text_chunks import chunk_text

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def test_expected_migrations_match_the_migrations_folder() -> None:
    import importlib.util

    # services.database is pure Python apart from its runtime use; load just its constant.
    spec = importlib.util.spec_from_file_location("database", MIGRATIONS.parent / "src/edgefiles/services/database.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert list(module.EXPECTED_MIGRATIONS) == sorted(p.name for p in MIGRATIONS.glob("*.sql"))


def test_chunks_pack_paragraphs_and_split_long_ones() -> None:
    text = "short one\n\nshort two\n\n" + "word " * 500
    chunks = chunk_text(text, max_chars=200)
    assert chunks[0] == "short one\n\nshort two"
    assert all(len(c) <= 200 for c in chunks)
    assert " ".join(chunks[1:]).split() == ["word"] * 500


def test_vectorize_errors_that_repeat_on_every_attempt_are_permanent() -> None:
    dims = 'Error: VECTOR_UPSERT_ERROR (code = 40012): invalid vector for id="f:0", expected 768 dimensions'
    assert is_permanent(RuntimeError(dims))
    assert not is_permanent(RuntimeError("VECTOR_UPSERT_ERROR (code = 40041): Too Many Requests"))


def test_chunks_are_capped() -> None:
    assert len(chunk_text("x " * 100_000, max_chars=100, max_chunks=5)) == 5
    assert chunk_text("   \n\n  ") == []


def _pdf(content: bytes, flate: bool = True) -> bytes:
    data = zlib.compress(content) if flate else content
    extra = b" /Filter /FlateDecode" if flate else b""
    head = b"%PDF-1.4\n4 0 obj << /Length " + str(len(data)).encode() + extra + b" >>\nstream\n"
    return head + data + b"\nendstream\nendobj\n%%EOF"


@pytest.mark.parametrize("flate", [True, False], ids=["flate", "plain"])
def test_pdf_text_from_tj_and_tj_arrays(flate: bool) -> None:
    content = b"BT /F1 12 Tf (Hello \\(PDF\\)) Tj ET BT [(Wor) -20 (ld)] TJ ET BT (caf\\351) Tj ET"
    assert extract_text(_pdf(content, flate)).splitlines() == ["Hello (PDF)", "World", "café"]


@pytest.mark.parametrize(
    "pdf",
    [b"not a pdf", _pdf(b"no text operators here"), _pdf(b"BT <00410042> Tj ET")],
    ids=["not-pdf", "no-text", "hex"],
)
def test_unsupported_pdfs_are_reported(pdf: bytes) -> None:
    with pytest.raises(UnsupportedPdf):
        extract_text(pdf)


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (PermanentError("gone"), True),
        (RuntimeError("AiError: 5006: Type mismatch of 'image'"), True),
        (RuntimeError("AiError: 3040: capacity temporarily exceeded"), False),
        (RuntimeError("injected fault: AI.run"), False),
        (TimeoutError("timed out"), False),
    ],
)
def test_permanent_or_transient(error: Exception, permanent: bool) -> None:
    assert is_permanent(error) is permanent


def test_retry_delays_grow_and_are_capped() -> None:
    assert [retry_delay(n, 10) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(30, 10) == 900


def test_describe_error_keeps_the_last_line() -> None:
    assert describe_error(RuntimeError("Traceback...\n  File x\nValueError: bad")) == "ValueError: bad"
    assert describe_error(RuntimeError("")) == "RuntimeError"

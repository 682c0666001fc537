"""Search naming, keyword queries and rank fusion (domain/search_index.py), the reconciler's
budget and hour partitions (domain/work_budget.py): pure, in CPython."""

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from edgefiles.domain.files import hour_partition, object_key
from edgefiles.domain.search_index import (
    best_rank_per_file,
    fuse,
    keyword_expression,
    owner_token,
    parse_vector_id,
    vector_id,
)
from edgefiles.domain.text_chunks import MAX_CHUNKS
from edgefiles.domain.work_budget import RECONCILE_STEPS, Budget, hour_settled

FILE = "0b6c3f9e-1f1e-4a8e-9a7b-2f4c1d9e8a77"


def test_vector_ids_round_trip_and_fit_vectorize() -> None:
    assert parse_vector_id(vector_id(FILE, 47)) == (FILE, 47)
    assert len(vector_id(FILE, MAX_CHUNKS - 1).encode()) <= 64  # Vectorize's id limit
    assert parse_vector_id("no-index") is None
    assert parse_vector_id(f"{FILE}:٣") is None  # a non-ASCII digit is not an index


def test_owner_token_matches_the_chunks_generated_column() -> None:
    with closing(sqlite3.connect(":memory:")) as db:
        for user in ("alice", "Ünïcode.user@example.com", "a-b_c.d"):
            [[expected]] = db.execute("SELECT 'u' || lower(hex(?))", (user,)).fetchall()
            assert owner_token(user) == expected


@pytest.fixture
def chunks() -> Iterator[sqlite3.Connection]:
    """The keyword index as migration 0005 builds it, in CPython's SQLite."""
    db = sqlite3.connect(":memory:")
    db.executescript(
        """
        CREATE TABLE chunks (id INTEGER PRIMARY KEY, file_id TEXT, user_id TEXT, content TEXT,
            owner TEXT GENERATED ALWAYS AS ('u' || lower(hex(user_id))) VIRTUAL);
        CREATE VIRTUAL TABLE chunk_text USING fts5(owner, content, content = 'chunks', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2');
        CREATE TRIGGER chunks_indexed AFTER INSERT ON chunks BEGIN
            INSERT INTO chunk_text (rowid, owner, content) VALUES (new.id, new.owner, new.content);
        END;
        """
    )
    rows = [
        ("invoice", "alice", "Invoice INV-2026-0042 for the Café order"),
        ("other", "alice", "Minutes of the meeting about 2026 plans"),
        ("bobs", "bob", "Invoice INV-2026-0042 copied by someone else"),
    ]
    db.executemany("INSERT INTO chunks (file_id, user_id, content) VALUES (?, ?, ?)", rows)
    with closing(db):
        yield db


def _match(db: sqlite3.Connection, user: str, text: str) -> list[str]:
    expression = keyword_expression(user, text)
    if expression is None:
        return []
    query = (
        "SELECT c.file_id FROM chunk_text JOIN chunks c ON c.id = chunk_text.rowid"
        " WHERE chunk_text MATCH ? ORDER BY bm25(chunk_text)"
    )
    return [row[0] for row in db.execute(query, (expression,))]


def test_keyword_queries_find_exact_codes_for_the_owner_only(chunks: sqlite3.Connection) -> None:
    assert _match(chunks, "alice", "INV-2026-0042") == ["invoice"]
    assert _match(chunks, "alice", "cafe") == ["invoice"]  # diacritics removed on both sides
    assert _match(chunks, "bob", "INV-2026-0042") == ["bobs"]
    assert _match(chunks, "carol", "invoice") == []
    # The owner's own token is not a word of any text (the owner column is not searched).
    assert _match(chunks, "alice", owner_token("alice")) == []


@pytest.mark.parametrize(
    "hostile",
    ['" OR owner:', "NEAR(a b)", "*", "owner:u626f62", "a AND NOT b", '""""', "\x00\x1f", "^start", "—", "𝒳 \u202e"],
)
def test_keyword_queries_never_interpret_the_users_syntax(chunks: sqlite3.Connection, hostile: str) -> None:
    # Either no expression (nothing searchable) or a valid one that stays within the owner.
    assert set(_match(chunks, "alice", hostile)) <= {"invoice", "other"}


def test_keyword_expressions_are_bounded() -> None:
    expression = keyword_expression("alice", " ".join(f"w{i}" for i in range(100)) + " " + "x" * 10_000)
    assert expression is not None
    assert expression.count(" OR ") == 15
    assert len(expression) < 16 * 70 + 100


def test_fusion_rewards_agreement_between_engines() -> None:
    keyword = best_rank_per_file(["a", "a", "b", "c"])
    semantic = best_rank_per_file(["c", "b", "d"])
    assert keyword == {"a": 1, "b": 2, "c": 3}
    fused = fuse([keyword, semantic])
    assert [file_id for file_id, _ in fused][:2] == ["c", "b"]
    assert {file_id for file_id, _ in fused} == {"a", "b", "c", "d"}
    assert fuse([]) == []


def test_keys_are_partitioned_by_the_hour_they_were_written() -> None:
    assert object_key("alice", "f1", "2026-11-27T19:48:33.123Z") == "objects/2026-11-27T19/alice/f1"
    assert hour_partition("2026-01-02T03:04:05.000Z") == "2026-01-02T03"
    with pytest.raises(ValueError):
        hour_partition("yesterday")


def test_an_hour_is_settled_once_it_is_over_by_the_grace_period() -> None:
    grace = timedelta(minutes=10)
    end = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    assert not hour_settled("2026-11-27T19", end + timedelta(minutes=9), grace)
    assert hour_settled("2026-11-27T19", end + grace, grace)
    assert hour_settled("2026-11-27T23", datetime(2026, 11, 28, 0, 10, tzinfo=UTC), grace)


def test_a_budget_is_never_overspent_and_shares_carry_forward() -> None:
    run = Budget(40)
    assert run.take(2)
    first = run.share(3, 38)
    assert first.left == 3
    assert first.take(3) and not first.take(1)
    lazy = run.share(6, 35)  # spends nothing: its share carries to the next steps
    assert lazy.left == 6
    last = run.share(29, 29)
    assert last.left == 35 and run.left == 35
    assert not last.take(36)
    assert last.take(35) and run.left == 0
    assert not Budget(5).share(1, 0).take(1)


def test_every_reconciler_step_can_act_when_it_goes_first_with_the_default_budget() -> None:
    """The step that goes first gets only its share: with the default budget (40, two of which
    read and write the cursors) each share must cover what the step needs to do anything."""
    total = sum(weight for weight, _ in RECONCILE_STEPS.values())
    for name, (weight, minimum) in RECONCILE_STEPS.items():
        assert Budget(40 - 2).share(weight, total).left >= minimum, name

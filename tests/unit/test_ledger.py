"""The user's ledger (quota reservations, link download counts, file-request counts, AI budget)
against CPython's SQLite, through an adapter with the shape of a Durable Object's
`ctx.storage.sql` (exec -> cursor with toArray(), one(), rowsWritten)."""

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from durable_objects.ledger import Ledger

DEFAULTS = {"bytes": 1000, "files": 5, "ai_daily_calls": 4}
NOW = 1_000_000


class Cursor:
    def __init__(self, rows: list[dict[str, Any]], written: int) -> None:
        self._rows, self.rowsWritten = rows, written

    def toArray(self) -> list[dict[str, Any]]:
        return self._rows

    def one(self) -> dict[str, Any]:
        assert len(self._rows) == 1
        return self._rows[0]


class Sql:
    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.row_factory = sqlite3.Row

    def exec(self, query: str, *params: Any) -> Cursor:
        cursor = self.db.execute(query, params)
        rows = [dict(row) for row in cursor.fetchall()]
        return Cursor(rows, max(cursor.rowcount, 0))


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    sql = Sql()
    book = Ledger(sql)
    book.migrate()
    yield book
    sql.db.close()


def reservation(rid: str, size: int, *, expires: int = NOW + 60_000, request: str | None = None) -> dict[str, Any]:
    return {"id": rid, "file_id": f"file-{rid}", "size_bytes": size, "expires_at": expires, "file_request_id": request}


def test_reservations_count_until_released_and_never_pass_the_quota(ledger: Ledger) -> None:
    committed = (0, 600)
    assert ledger.reserve(reservation("a", 300), committed, DEFAULTS, NOW)["ok"]
    refused = ledger.reserve(reservation("b", 101), committed, DEFAULTS, NOW)
    assert refused["ok"] is False and refused["refused"] == "bytes" and refused["remaining_bytes"] == 100
    assert ledger.reserve(reservation("c", 100), committed, DEFAULTS, NOW)["ok"]
    assert ledger.release(["a"]) == 1
    assert ledger.reserve(reservation("b", 101), committed, DEFAULTS, NOW)["ok"]


def test_reserving_the_same_id_twice_counts_it_once(ledger: Ledger) -> None:
    assert ledger.reserve(reservation("a", 600), (0, 0), DEFAULTS, NOW)["ok"]
    assert ledger.reserve(reservation("a", 600), (0, 0), DEFAULTS, NOW)["ok"]
    assert ledger.usage(0, 0, DEFAULTS, NOW)["reserved_bytes"] == 600


def test_the_file_count_and_a_file_requests_limit_are_quotas_too(ledger: Ledger) -> None:
    assert ledger.reserve(reservation("a", 1), (4, 0), DEFAULTS, NOW)["ok"]
    assert ledger.reserve(reservation("b", 1), (4, 0), DEFAULTS, NOW)["refused"] == "files"
    ledger.release(["a"])
    first = reservation("r1", 1, request="req")
    assert ledger.reserve(first, (0, 0), DEFAULTS, NOW, request_max_files=1)["ok"]
    assert ledger.reserve(reservation("r2", 1, request="req"), (0, 0), DEFAULTS, NOW, 1)["refused"] == "request_files"
    ledger.settle("r1", "req")
    assert ledger.received(["req", "other"]) == {"req": 1, "other": 0}
    assert ledger.reserve(reservation("r3", 1, request="req"), (1, 1), DEFAULTS, NOW, 1)["refused"] == "request_files"


def test_an_expired_reservation_holds_nothing(ledger: Ledger) -> None:
    assert ledger.reserve(reservation("a", 900, expires=NOW + 10), (0, 0), DEFAULTS, NOW)["ok"]
    assert ledger.usage(0, 0, DEFAULTS, NOW + 10)["reserved_bytes"] == 0


def test_overrides_replace_defaults_and_null_restores_them(ledger: Ledger) -> None:
    ledger.set_limits(5000, None, 1)
    assert ledger.limits(DEFAULTS) == {"bytes": 5000, "files": 5, "ai_daily_calls": 1}
    ledger.set_limits(None, None, None)
    assert ledger.limits(DEFAULTS) == DEFAULTS


def test_download_limits_count_exactly(ledger: Ledger) -> None:
    claims = [ledger.claim_download("link", 3, "t")["ok"] for _ in range(5)]
    assert claims == [True, True, True, False, False]
    assert ledger.link_usage(["link", "none"]) == {
        "link": {"downloads": 3, "last_used_at": "t"},
        "none": {"downloads": 0, "last_used_at": None},
    }
    assert all(ledger.claim_download("open", None, "t")["ok"] for _ in range(10))


def test_the_ai_budget_is_per_day_and_a_retried_charge_is_free(ledger: Ledger) -> None:
    assert ledger.charge_ai("file:1", 2, "2026-11-27", DEFAULTS)["ok"]
    assert ledger.charge_ai("file:1", 2, "2026-11-27", DEFAULTS) == {"ok": True, "used": 2, "budget": 4}
    assert ledger.charge_ai("file:2", 2, "2026-11-27", DEFAULTS)["ok"]
    assert ledger.charge_ai("file:3", 2, "2026-11-27", DEFAULTS) == {"ok": False, "used": 4, "budget": 4}
    assert ledger.charge_ai("file:3", 2, "2026-11-28", DEFAULTS) == {"ok": True, "used": 2, "budget": 4}


def test_strangers_through_file_requests_may_use_half_the_ai_budget_at_most(ledger: Ledger) -> None:
    budget = {**DEFAULTS, "ai_daily_calls": 10}
    assert ledger.charge_ai("file:a", 2, "d", budget, "requests")["ok"]
    assert ledger.charge_ai("file:b", 2, "d", budget, "requests")["ok"]
    assert not ledger.charge_ai("file:c", 2, "d", budget, "requests")["ok"]  # 6 > 10 // 2
    assert ledger.charge_ai("file:own", 6, "d", budget)["ok"]  # the owner keeps the rest
    assert not ledger.charge_ai("file:own2", 1, "d", budget)["ok"]


def test_reserving_again_renews_a_held_reservation_and_rechecks_a_lapsed_one(ledger: Ledger) -> None:
    assert ledger.reserve(reservation("a", 600, expires=NOW + 10), (0, 0), DEFAULTS, NOW)["ok"]
    assert ledger.reserve(reservation("a", 600, expires=NOW + 1000), (0, 0), DEFAULTS, NOW + 5)["ok"]
    assert ledger.usage(0, 0, DEFAULTS, NOW + 500)["reserved_bytes"] == 600  # renewed past NOW + 10
    assert ledger.reserve(reservation("b", 500, expires=NOW + 3000), (0, 0), DEFAULTS, NOW + 1000)["ok"]  # a lapsed
    lapsed = ledger.reserve(reservation("a", 600, expires=NOW + 4000), (0, 0), DEFAULTS, NOW + 1001)
    assert lapsed["ok"] is False and lapsed["refused"] == "bytes"


def test_password_attempts_count_while_checked_and_only_wrong_ones_stay(ledger: Ledger) -> None:
    limits = {"link@client": 3, "link": 5}
    assert ledger.begin_password_attempt("a1", limits, 2, NOW, 60_000)  # two readings of a header
    assert ledger.begin_password_attempt("a2", limits, 1, NOW, 60_000)
    assert not ledger.begin_password_attempt("a3", limits, 1, NOW, 60_000)  # 3 in flight: full
    ledger.end_password_attempt("a1", right=True)  # given back
    ledger.end_password_attempt("a2", right=False)  # stays
    assert ledger.begin_password_attempt("a4", limits, 2, NOW, 60_000)
    assert not ledger.begin_password_attempt("a5", {"link@other": 3, "link": 5}, 3, NOW, 60_000)  # link: 3 + 3 > 5
    assert ledger.begin_password_attempt("a6", limits, 3, NOW + 60_000, 60_000)  # a minute later

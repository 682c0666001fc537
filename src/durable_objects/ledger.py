"""A user's ledger, kept in their UserStats object beside the file counts: quota reservations,
download counts of share links, files received through file requests, and the day's AI calls.

Why here: each of these must be exact under concurrency (16 uploads racing for the last
megabyte of a quota, 20 downloads racing for the last of 3 allowed), and a Durable Object runs
one call at a time, with synchronous SQLite, so a check and its write cannot interleave with
another's. No `js` import: the object hands in its `ctx.storage.sql`, and CPython tests hand in
an adapter over sqlite3 (tests/unit/test_ledger.py).

Quota. `used` is what the object counts (committed files, trashed ones included: their bytes
are still stored) plus open reservations. An upload reserves its size before any byte is
stored; committing turns the reservation into a counted file in the same transaction; a
failed or aborted upload releases it. A reservation also expires on its own (`expires_at`), so
one whose request died holds nothing for ever; the reconciler releases those earlier.
"""

from typing import Any

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS reservations (
        id TEXT PRIMARY KEY,
        file_id TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        file_request_id TEXT,
        expires_at INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS reservations_expiry ON reservations (expires_at)",
    """CREATE TABLE IF NOT EXISTS quota (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        max_bytes INTEGER,
        max_files INTEGER,
        ai_daily_calls INTEGER
    )""",
    "CREATE TABLE IF NOT EXISTS request_files (request_id TEXT PRIMARY KEY, received INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS link_downloads (
        link_id TEXT PRIMARY KEY,
        downloads INTEGER NOT NULL,
        last_used_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS ai_calls (
        day TEXT NOT NULL,
        pool TEXT NOT NULL,
        calls INTEGER NOT NULL,
        PRIMARY KEY (day, pool)
    )""",
    "CREATE TABLE IF NOT EXISTS ai_charges (key TEXT PRIMARY KEY, day TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS password_attempts (
        attempt TEXT NOT NULL,
        key TEXT NOT NULL,
        at INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS password_attempts_by_key ON password_attempts (key, at)",
    "CREATE INDEX IF NOT EXISTS password_attempts_by_attempt ON password_attempts (attempt)",
)


# Whose work an AI call is: the owner's own, or strangers' through the owner's file requests.
OWN, REQUESTS = "own", "requests"


def _rows(cursor: Any) -> list[Any]:
    return list(cursor.toArray())


class Ledger:
    def __init__(self, sql: Any) -> None:
        self._sql = sql

    def migrate(self) -> None:
        for statement in SCHEMA:
            self._sql.exec(statement)

    # -- quota ---------------------------------------------------------------------------------

    def limits(self, defaults: dict[str, int]) -> dict[str, int]:
        """The user's quota: their override where the admin set one, else the defaults."""
        rows = _rows(self._sql.exec("SELECT max_bytes, max_files, ai_daily_calls FROM quota WHERE id = 1"))
        override = rows[0] if rows else None
        limits = dict(defaults)
        if override is not None:
            for name, column in (("bytes", "max_bytes"), ("files", "max_files"), ("ai_daily_calls", "ai_daily_calls")):
                if override[column] is not None:
                    limits[name] = override[column]
        return limits

    def set_limits(self, max_bytes: int | None, max_files: int | None, ai_daily_calls: int | None) -> None:
        """Overrides (None: back to the default)."""
        self._sql.exec(
            "INSERT INTO quota (id, max_bytes, max_files, ai_daily_calls) VALUES (1, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET max_bytes = excluded.max_bytes, max_files = excluded.max_files,"
            " ai_daily_calls = excluded.ai_daily_calls",
            max_bytes,
            max_files,
            ai_daily_calls,
        )

    def _expire(self, now_ms: int) -> None:
        self._sql.exec("DELETE FROM reservations WHERE expires_at <= ?", now_ms)

    def usage(self, files: int, size_bytes: int, defaults: dict[str, int], now_ms: int) -> dict[str, int]:
        """Usage against the quota; `files` and `size_bytes` are the committed totals."""
        self._expire(now_ms)
        held = self._sql.exec("SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes), 0) AS bytes FROM reservations").one()
        limits = self.limits(defaults)
        used_bytes, used_files = size_bytes + held["bytes"], files + held["n"]
        return {
            "quota_bytes": limits["bytes"],
            "quota_files": limits["files"],
            "used_bytes": size_bytes,
            "used_files": files,
            "reserved_bytes": held["bytes"],
            "reserved_files": held["n"],
            "remaining_bytes": max(0, limits["bytes"] - used_bytes),
            "remaining_files": max(0, limits["files"] - used_files),
        }

    def reserve(
        self,
        reservation: dict[str, Any],
        committed: tuple[int, int],
        defaults: dict[str, int],
        now_ms: int,
        request_max_files: int | None = None,
    ) -> dict[str, Any]:
        """Reserves `reservation` = {id, file_id, size_bytes, expires_at, file_request_id} if the
        quota (and the file request's file limit) has room. Answers {"ok": bool, "refused":
        "bytes" | "files" | "request_files" | None, **usage before it}. Reserving an id that is
        still held answers ok without counting it twice (a retried call), and extends its lease
        (an upload that streams for long renews it); one that lapsed is checked anew."""
        files, size_bytes = committed
        usage = self.usage(files, size_bytes, defaults, now_ms)
        renewed = self._sql.exec(
            "UPDATE reservations SET expires_at = MAX(expires_at, ?) WHERE id = ?",
            reservation["expires_at"],
            reservation["id"],
        )
        if renewed.rowsWritten:
            return {"ok": True, "refused": None, **usage}
        refused = None
        if usage["used_bytes"] + usage["reserved_bytes"] + reservation["size_bytes"] > usage["quota_bytes"]:
            refused = "bytes"
        elif usage["used_files"] + usage["reserved_files"] + 1 > usage["quota_files"]:
            refused = "files"
        elif request_max_files is not None:
            request_id = reservation["file_request_id"]
            received = _rows(self._sql.exec("SELECT received FROM request_files WHERE request_id = ?", request_id))
            pending = self._sql.exec(
                "SELECT COUNT(*) AS n FROM reservations WHERE file_request_id = ?", request_id
            ).one()["n"]
            if (received[0]["received"] if received else 0) + pending + 1 > request_max_files:
                refused = "request_files"
        if refused is None:
            self._sql.exec(
                "INSERT INTO reservations (id, file_id, size_bytes, file_request_id, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                reservation["id"],
                reservation["file_id"],
                reservation["size_bytes"],
                reservation.get("file_request_id"),
                reservation["expires_at"],
            )
        return {"ok": refused is None, "refused": refused, **usage}

    def settle(self, reservation_id: str, file_request_id: str | None) -> None:
        """The reservation's file is now counted: the reservation goes, and a file request's
        received count grows. Called in the transaction that counts the file."""
        self._sql.exec("DELETE FROM reservations WHERE id = ?", reservation_id)
        if file_request_id is not None:
            self._sql.exec(
                "INSERT INTO request_files (request_id, received) VALUES (?, 1)"
                " ON CONFLICT (request_id) DO UPDATE SET received = received + 1",
                file_request_id,
            )

    def release(self, reservation_ids: list[str]) -> int:
        released = 0
        for reservation_id in reservation_ids:
            released += self._sql.exec("DELETE FROM reservations WHERE id = ?", reservation_id).rowsWritten
        return released

    def release_files(self, file_ids_json: str) -> None:
        """Drops reservations whose files a stats rebuild has just counted from D1."""
        self._sql.exec(
            "DELETE FROM reservations WHERE file_id IN (SELECT json_extract(value, '$[0]') FROM json_each(?))",
            file_ids_json,
        )

    def received(self, request_ids: list[str]) -> dict[str, int]:
        counts = {}
        for request_id in request_ids:
            rows = _rows(self._sql.exec("SELECT received FROM request_files WHERE request_id = ?", request_id))
            counts[request_id] = rows[0]["received"] if rows else 0
        return counts

    # -- share links ---------------------------------------------------------------------------

    def claim_download(self, link_id: str, max_downloads: int | None, now: str) -> dict[str, Any]:
        """Counts one download of a link if its limit allows: {"ok", "downloads"}."""
        rows = _rows(self._sql.exec("SELECT downloads FROM link_downloads WHERE link_id = ?", link_id))
        downloads = rows[0]["downloads"] if rows else 0
        if max_downloads is not None and downloads >= max_downloads:
            return {"ok": False, "downloads": downloads}
        self._sql.exec(
            "INSERT INTO link_downloads (link_id, downloads, last_used_at) VALUES (?, 1, ?)"
            " ON CONFLICT (link_id) DO UPDATE SET downloads = downloads + 1, last_used_at = excluded.last_used_at",
            link_id,
            now,
        )
        return {"ok": True, "downloads": downloads + 1}

    def link_usage(self, link_ids: list[str]) -> dict[str, dict[str, Any]]:
        usage = {}
        for link_id in link_ids:
            rows = _rows(
                self._sql.exec("SELECT downloads, last_used_at FROM link_downloads WHERE link_id = ?", link_id)
            )
            usage[link_id] = (
                {"downloads": rows[0]["downloads"], "last_used_at": rows[0]["last_used_at"]}
                if rows
                else {"downloads": 0, "last_used_at": None}
            )
        return usage

    # -- password attempts -----------------------------------------------------------------------

    def begin_password_attempt(
        self, attempt: str, limits: dict[str, int], tries: int, now_ms: int, window_ms: int
    ) -> bool:
        """Admits an attempt of `tries` passwords (a header may be read more than one way) if,
        for every key (a link or request, or one client of it), the wrong ones of the window
        and those still being checked leave room; it then counts as `tries` until it ends.
        Checked and counted in one call, so concurrent guesses cannot all pass the check first.
        A right password gives its count back (end_password_attempt): a sender may upload a
        hundred files, and a stranger's guesses lock out only what they count against."""
        self._sql.exec("DELETE FROM password_attempts WHERE at <= ?", now_ms - window_ms)
        for key, limit in limits.items():
            counted = self._sql.exec("SELECT COUNT(*) AS n FROM password_attempts WHERE key = ?", key).one()["n"]
            if counted + tries > limit:
                return False
        for key in limits:
            for _ in range(tries):
                self._sql.exec(
                    "INSERT INTO password_attempts (attempt, key, at) VALUES (?, ?, ?)", attempt, key, now_ms
                )
        return True

    def end_password_attempt(self, attempt: str, right: bool) -> None:
        """A right password is not counted; a wrong one stays counted for the window (as does an
        attempt that never ends: its request died)."""
        if right:
            self._sql.exec("DELETE FROM password_attempts WHERE attempt = ?", attempt)

    # -- AI budget -----------------------------------------------------------------------------

    def charge_ai(self, key: str, calls: int, day: str, defaults: dict[str, int], pool: str = OWN) -> dict[str, Any]:
        """Charges `calls` AI calls to `day` (UTC, YYYY-MM-DD) if the daily budget allows.
        `key` names the work (a file id, a request id): charging it again the same day is free,
        so a redelivered message is not charged twice. Work that strangers cause (files sent
        through a file request: `pool` REQUESTS) may use at most half the budget, so they can
        never use up what the owner's own uploads, summaries and searches need.
        {"ok", "used", "budget"}."""
        budget = self.limits(defaults)["ai_daily_calls"]
        self._sql.exec("DELETE FROM ai_calls WHERE day < ?", day)
        self._sql.exec("DELETE FROM ai_charges WHERE day < ?", day)
        rows = _rows(self._sql.exec("SELECT pool, calls FROM ai_calls WHERE day = ?", day))
        by_pool = {row["pool"]: row["calls"] for row in rows}
        used = sum(by_pool.values())
        if _rows(self._sql.exec("SELECT 1 FROM ai_charges WHERE key = ? AND day = ?", key, day)):
            return {"ok": True, "used": used, "budget": budget}
        over_pool = pool == REQUESTS and by_pool.get(REQUESTS, 0) + calls > budget // 2
        if used + calls > budget or over_pool:
            return {"ok": False, "used": used, "budget": budget}
        self._sql.exec("INSERT INTO ai_charges (key, day) VALUES (?, ?)", key, day)
        self._sql.exec(
            "INSERT INTO ai_calls (day, pool, calls) VALUES (?, ?, ?)"
            " ON CONFLICT (day, pool) DO UPDATE SET calls = calls + excluded.calls",
            day,
            pool,
            calls,
        )
        return {"ok": True, "used": used + calls, "budget": budget}

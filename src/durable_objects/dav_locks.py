"""WebDAV locks (RFC 4918 §6-7), kept in the user's UserStats object: one object per user runs
one call at a time with synchronous SQLite, so a lock's check and grant cannot interleave with
another's, and every isolate of the Worker sees the same locks.

A lock is on a path (the names from the root joined by '/'; '' is the root), with a depth of 0
or infinity, exclusive or shared, an owner (XML, returned as sent) and a timeout. It covers its
root and, with depth infinity, everything below. Two locks conflict when one covers the other's
root (or the other, of depth infinity, covers its root) and either is exclusive. Expired locks
are dropped before every look. No `js` import: the object hands in `ctx.storage.sql`, CPython
tests an adapter over sqlite3.
"""

import json
from typing import Any

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS dav_locks (
        token TEXT PRIMARY KEY,
        root TEXT NOT NULL,
        depth TEXT NOT NULL,
        scope TEXT NOT NULL,
        owner TEXT NOT NULL,
        timeout_seconds INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS dav_locks_root ON dav_locks (root)",
)
MAX_LOCKS = 1000  # per user (each owner at most 4 KB): a client that locks without end is refused


def _rows(cursor: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in cursor.toArray()]


def covers(lock: dict[str, Any], path: str) -> bool:
    """Whether `lock` applies to `path`."""
    root = lock["root"]
    if path == root:
        return True
    return lock["depth"] == "infinity" and (root == "" or path.startswith(root + "/"))


class DavLocks:
    def __init__(self, sql: Any) -> None:
        self._sql = sql

    def migrate(self) -> None:
        for statement in SCHEMA:
            self._sql.exec(statement)

    def _expire(self, now_ms: int) -> None:
        self._sql.exec("DELETE FROM dav_locks WHERE expires_at <= ?", now_ms)

    def _rooted_at_or_above(self, path: str) -> list[dict[str, Any]]:
        """Locks whose root is `path` or one of its ancestors (only those can apply to it)."""
        names = path.split("/") if path else []
        roots = [""] + ["/".join(names[: i + 1]) for i in range(len(names))]
        return _rows(
            self._sql.exec("SELECT * FROM dav_locks WHERE root IN (SELECT value FROM json_each(?))", json.dumps(roots))
        )

    def _rooted_below(self, path: str) -> list[dict[str, Any]]:
        if path == "":
            return _rows(self._sql.exec("SELECT * FROM dav_locks WHERE root <> ''"))
        prefix = path + "/"
        return _rows(self._sql.exec("SELECT * FROM dav_locks WHERE substr(root, 1, ?) = ?", len(prefix), prefix))

    def covering(self, path: str, now_ms: int) -> list[dict[str, Any]]:
        """The live locks that apply to `path`."""
        self._expire(now_ms)
        return [lock for lock in self._rooted_at_or_above(path) if covers(lock, path)]

    def touching(self, path: str, now_ms: int) -> list[dict[str, Any]]:
        """The live locks that apply to `path` or to anything inside it (what a DELETE or MOVE of
        it must hold tokens for)."""
        return self.covering(path, now_ms) + self._rooted_below(path)

    def lock(self, lock: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """Grants `lock` = {token, root, depth, scope, owner, timeout_seconds} unless another
        conflicts: {"ok": True, "lock": ...} or {"ok": False, "conflict": root of the other}."""
        others = self.covering(lock["root"], now_ms)
        if lock["depth"] == "infinity":
            others += self._rooted_below(lock["root"])
        for other in others:
            if "exclusive" in (other["scope"], lock["scope"]):
                return {"ok": False, "conflict": other["root"]}
        if self._sql.exec("SELECT COUNT(*) AS n FROM dav_locks").one()["n"] >= MAX_LOCKS:
            return {"ok": False, "conflict": None}
        granted = {**lock, "expires_at": now_ms + lock["timeout_seconds"] * 1000}
        self._sql.exec(
            "INSERT INTO dav_locks (token, root, depth, scope, owner, timeout_seconds, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            granted["token"],
            granted["root"],
            granted["depth"],
            granted["scope"],
            granted["owner"],
            granted["timeout_seconds"],
            granted["expires_at"],
        )
        return {"ok": True, "lock": granted}

    def refresh(self, tokens: list[str], path: str, timeout_seconds: int, now_ms: int) -> dict[str, Any] | None:
        """Extends the first of `tokens` that is a live lock applying to `path`; the lock, or None."""
        for lock in self.covering(path, now_ms):
            if lock["token"] in tokens:
                expires = now_ms + timeout_seconds * 1000
                self._sql.exec(
                    "UPDATE dav_locks SET timeout_seconds = ?, expires_at = ? WHERE token = ?",
                    timeout_seconds,
                    expires,
                    lock["token"],
                )
                return {**lock, "timeout_seconds": timeout_seconds, "expires_at": expires}
        return None

    def unlock(self, token: str, path: str, now_ms: int) -> bool:
        """Removes the lock `token` if it applies to `path`."""
        if not any(lock["token"] == token for lock in self.covering(path, now_ms)):
            return False
        self._sql.exec("DELETE FROM dav_locks WHERE token = ?", token)
        return True

    def forget(self, path: str) -> int:
        """Removes the locks on `path` and inside it (it was deleted or moved away)."""
        rooted = _rows(self._sql.exec("SELECT * FROM dav_locks WHERE root = ?", path)) + self._rooted_below(path)
        gone = [lock["token"] for lock in rooted]
        for token in gone:
            self._sql.exec("DELETE FROM dav_locks WHERE token = ?", token)
        return len(gone)

"""UserStats: one Durable Object per user, counting that user's uploads.

Storage is the object's own SQLite database. Each upload is a row keyed by file id, so recording
the same upload twice (a retried request, a redelivered message) counts it once. The totals are
kept beside the rows and changed in the same transaction as the rows, so reading them costs the
same for ten files or ten million (a COUNT over the rows would not).

The reconciler repairs an object that disagrees with D1 a page at a time (`replace_range`): each
page replaces the rows in one range of file ids with D1's, so a rebuild spans as many runs as it
needs and no call carries more than a page.
"""

import json
from typing import Any
from urllib.parse import urlparse

from workers import DurableObject, Response

# Sorts after every file id (UUIDs): the upper bound of the last page of a rebuild.
_AFTER_EVERY_ID = "\uffff"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS uploads (
        file_id TEXT PRIMARY KEY,
        size_bytes INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        uploaded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE INDEX IF NOT EXISTS uploads_by_time ON uploads (uploaded_at)",
    """CREATE TABLE IF NOT EXISTS totals (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        upload_count INTEGER NOT NULL,
        total_bytes INTEGER NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS type_counts (content_type TEXT PRIMARY KEY, n INTEGER NOT NULL)",
)


class UserStats(DurableObject):
    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self._storage = ctx.storage
        self._sql = ctx.storage.sql
        self._storage.transactionSync(self._migrate)

    def _migrate(self) -> None:
        for statement in _SCHEMA:
            self._sql.exec(statement)
        if not self._sql.exec("SELECT 1 FROM totals").toArray():
            self._derive_totals()  # an object from before the totals existed, once

    def _derive_totals(self) -> None:
        """The totals from the rows (one pass over them)."""
        self._sql.exec("DELETE FROM totals")
        self._sql.exec(
            "INSERT INTO totals (id, upload_count, total_bytes)"
            " SELECT 1, COUNT(*), COALESCE(SUM(size_bytes), 0) FROM uploads"
        )
        self._sql.exec("DELETE FROM type_counts")
        self._sql.exec(
            "INSERT INTO type_counts (content_type, n) SELECT content_type, COUNT(*) FROM uploads GROUP BY content_type"
        )

    def _count(self, content_type: str, files: int, size_bytes: int) -> None:
        self._sql.exec(
            "UPDATE totals SET upload_count = upload_count + ?, total_bytes = total_bytes + ? WHERE id = 1",
            files,
            size_bytes,
        )
        self._sql.exec(
            "INSERT INTO type_counts (content_type, n) VALUES (?, ?)"
            " ON CONFLICT (content_type) DO UPDATE SET n = n + excluded.n",
            content_type,
            files,
        )
        self._sql.exec("DELETE FROM type_counts WHERE n <= 0")

    def record_upload(self, file_id: str, size_bytes: int, content_type: str) -> bool:
        """Counts an upload once; answers whether it was new."""

        def record() -> bool:
            cursor = self._sql.exec(
                "INSERT OR IGNORE INTO uploads (file_id, size_bytes, content_type) VALUES (?, ?, ?)",
                file_id,
                size_bytes,
                content_type,
            )
            if cursor.rowsWritten == 0:
                return False
            self._count(content_type, 1, size_bytes)
            return True

        return self._storage.transactionSync(record)

    def record_delete(self, file_id: str) -> bool:
        def record() -> bool:
            removed = self._sql.exec(
                "DELETE FROM uploads WHERE file_id = ? RETURNING size_bytes, content_type", file_id
            ).toArray()
            for row in removed:
                self._count(row["content_type"], -1, -row["size_bytes"])
            return bool(removed)

        return self._storage.transactionSync(record)

    def replace_range(self, after: str, upto: str | None, files: list[dict[str, Any]], as_of: str) -> int:
        """Makes the rows with `after` < file_id <= `upto` (no upper bound when `upto` is None)
        what D1 held at `as_of`: `files` ([{file_id, size_bytes, content_type, created_at}], as the
        reconciler read them then). Rows recorded since `as_of` (uploads that landed after the
        page was read) are kept. The totals change by the difference, and the last page (`upto`
        None) re-derives them from the rows, so a rebuild ends consistent whatever the object
        held. A page is a handful of statements (json_each), not one per file. Returns the rows
        removed."""
        upper = _AFTER_EVERY_ID if upto is None else upto
        page = json.dumps([[f["file_id"], f["size_bytes"], f["content_type"], f["created_at"]] for f in files])
        in_range = "file_id > ? AND file_id <= ? AND uploaded_at < ?"

        def replace() -> int:
            removed = self._sql.exec(
                "SELECT content_type, COUNT(*) AS n, SUM(size_bytes) AS bytes FROM uploads WHERE "  # noqa: S608
                + in_range
                + " GROUP BY content_type",
                after,
                upper,
                as_of,
            ).toArray()
            self._sql.exec("DELETE FROM uploads WHERE " + in_range, after, upper, as_of)  # noqa: S608
            new = (
                " FROM json_each(?) WHERE NOT EXISTS"
                " (SELECT 1 FROM uploads WHERE file_id = json_extract(value, '$[0]'))"
            )
            added = self._sql.exec(
                "SELECT json_extract(value, '$[2]') AS content_type, COUNT(*) AS n,"
                " SUM(json_extract(value, '$[1]')) AS bytes" + new + " GROUP BY 1",
                page,
            ).toArray()
            self._sql.exec(
                "INSERT INTO uploads (file_id, size_bytes, content_type, uploaded_at)"
                " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),"
                " json_extract(value, '$[3]')" + new,
                page,
            )
            for row in removed:
                self._count(row["content_type"], -row["n"], -row["bytes"])
            for row in added:
                self._count(row["content_type"], row["n"], row["bytes"])
            if upto is None:
                self._derive_totals()
            return sum(row["n"] for row in removed)

        return self._storage.transactionSync(replace)

    def stats(self) -> dict[str, Any]:
        totals = self._sql.exec("SELECT upload_count, total_bytes FROM totals WHERE id = 1").one()
        last = self._sql.exec("SELECT MAX(uploaded_at) AS at FROM uploads").one()
        by_type = self._sql.exec("SELECT content_type, n FROM type_counts ORDER BY content_type").toArray()
        return {
            "upload_count": totals["upload_count"],
            "total_bytes": totals["total_bytes"],
            "last_upload_at": last["at"],
            "by_content_type": {row["content_type"]: row["n"] for row in by_type},
        }

    async def fetch(self, request: Any) -> Response:
        """For callers that predate RPC: GET /stats."""
        if urlparse(request.url).path != "/stats":
            return Response("not found", status=404)
        return Response(json.dumps(self.stats()), headers={"content-type": "application/json"})

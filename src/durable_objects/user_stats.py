"""UserStats: one Durable Object per user, counting that user's uploads.

Storage is the object's own SQLite database. Each upload is a row keyed by file id, so recording
the same upload twice (a retried request, a redelivered message) counts it once, and the
totals are always derived from the rows rather than kept as counters that could drift.
"""

import json
from typing import Any
from urllib.parse import urlparse

from workers import DurableObject, Response

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    file_id TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    uploaded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""


class UserStats(DurableObject):
    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self._storage = ctx.storage
        self._sql = ctx.storage.sql
        self._sql.exec(_SCHEMA)

    def record_upload(self, file_id: str, size_bytes: int, content_type: str) -> bool:
        """Counts an upload once; answers whether it was new."""
        cursor = self._sql.exec(
            "INSERT OR IGNORE INTO uploads (file_id, size_bytes, content_type) VALUES (?, ?, ?)",
            file_id,
            size_bytes,
            content_type,
        )
        return cursor.rowsWritten > 0

    def record_delete(self, file_id: str) -> bool:
        cursor = self._sql.exec("DELETE FROM uploads WHERE file_id = ?", file_id)
        return cursor.rowsWritten > 0

    def rebuild(self, files: list[dict[str, Any]]) -> int:
        """Replaces every count with `files` ([{file_id, size_bytes, content_type, created_at}]),
        as the reconciler derives them from D1. Returns how many uploads are counted."""

        def replace() -> None:
            self._sql.exec("DELETE FROM uploads")
            for f in files:
                self._sql.exec(
                    "INSERT INTO uploads (file_id, size_bytes, content_type, uploaded_at) VALUES (?, ?, ?, ?)",
                    f["file_id"],
                    f["size_bytes"],
                    f["content_type"],
                    f["created_at"],
                )

        self._storage.transactionSync(replace)
        return len(files)

    def stats(self) -> dict[str, Any]:
        totals = self._sql.exec(
            "SELECT COUNT(*) AS upload_count, COALESCE(SUM(size_bytes), 0) AS total_bytes,"
            " MAX(uploaded_at) AS last_upload_at FROM uploads"
        ).one()
        by_type = self._sql.exec("SELECT content_type, COUNT(*) AS n FROM uploads GROUP BY content_type").toArray()
        return {
            "upload_count": totals["upload_count"],
            "total_bytes": totals["total_bytes"],
            "last_upload_at": totals["last_upload_at"],
            "by_content_type": {row["content_type"]: row["n"] for row in by_type},
        }

    async def fetch(self, request: Any) -> Response:
        """For callers that predate RPC: GET /stats."""
        if urlparse(request.url).path != "/stats":
            return Response("not found", status=404)
        return Response(json.dumps(self.stats()), headers={"content-type": "application/json"})

"""File rows in D1."""

import json
from typing import Any

_SELECT = (
    "SELECT id, user_id, filename, r2_key, content_type, size_bytes, sha256, description, status, ai_analysis,"
    " created_at, updated_at FROM files"
)


class FileRecords:
    def __init__(self, db: Any) -> None:
        self._db = db

    async def insert(self, row: dict[str, Any]) -> None:
        await (
            self._db.prepare(
                "INSERT INTO files (id, user_id, filename, r2_key, content_type, size_bytes, sha256,"
                " description, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
            )
            .bind(
                row["id"],
                row["user_id"],
                row["filename"],
                row["r2_key"],
                row["content_type"],
                row["size_bytes"],
                row.get("sha256"),
                row.get("description"),
                row["created_at"],
                row["created_at"],
            )
            .run()
        )

    async def get(self, user_id: str, file_id: str) -> dict[str, Any] | None:
        """A live file of this user; None for a missing, deleted or someone else's file."""
        row = (
            await self._db.prepare(_SELECT + " WHERE id = ? AND user_id = ? AND deleted_at IS NULL")
            .bind(file_id, user_id)
            .first()
        )
        return _decode(row)

    async def get_live(self, file_id: str) -> dict[str, Any] | None:
        """A live file whoever owns it: for signed links, whose token is the authority."""
        row = await self._db.prepare(_SELECT + " WHERE id = ? AND deleted_at IS NULL").bind(file_id).first()
        return _decode(row)

    async def list_page(self, user_id: str, limit: int, after: tuple[str, str] | None) -> list[dict[str, Any]]:
        """Newest first; `after` is the (created_at, id) of the previous page's last item."""
        if after is None:
            statement = self._db.prepare(
                _SELECT + " WHERE user_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ?"
            ).bind(user_id, limit)
        else:
            statement = self._db.prepare(
                _SELECT + " WHERE user_id = ? AND deleted_at IS NULL AND (created_at, id) < (?, ?)"
                " ORDER BY created_at DESC, id DESC LIMIT ?"
            ).bind(user_id, after[0], after[1], limit)
        result = await statement.all()
        return [_decode(row) for row in result.results]

    async def mark_deleted(self, user_id: str, file_id: str, now: str) -> str | None:
        """Marks a live file deleted and answers its R2 key; None if there was no such file."""
        row = await (
            self._db.prepare(
                "UPDATE files SET deleted_at = ?, updated_at = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL"
                " RETURNING r2_key"
            )
            .bind(now, now, file_id, user_id)
            .first()
        )
        return None if row is None else row["r2_key"]

    async def finish(self, file_id: str, *, status: str, analysis: dict[str, Any] | None, now: str) -> None:
        await (
            self._db.prepare("UPDATE files SET status = ?, ai_analysis = ?, updated_at = ? WHERE id = ?")
            .bind(status, None if analysis is None else json.dumps(analysis), now, file_id)
            .run()
        )

    async def pending_before(self, cutoff: str, limit: int = 100) -> list[dict[str, Any]]:
        result = (
            await self._db.prepare(
                _SELECT
                + " WHERE status = 'pending' AND updated_at < ? AND deleted_at IS NULL ORDER BY updated_at LIMIT ?"
            )
            .bind(cutoff, limit)
            .all()
        )
        return [_decode(row) for row in result.results]


def _decode(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    record = dict(row)
    if record.get("ai_analysis"):
        record["ai_analysis"] = json.loads(record["ai_analysis"])
    return record

"""Multipart upload state in D1, so parts can be retried and an upload resumed."""

import json
from typing import Any

_SELECT = (
    "SELECT id, user_id, file_id, r2_key, r2_upload_id, filename, content_type, size_bytes, part_size, part_count,"
    " description, status, created_at, updated_at FROM uploads"
)


class UploadRecords:
    def __init__(self, db: Any) -> None:
        self._db = db

    async def create(self, row: dict[str, Any]) -> None:
        await self.create_statement(row).run()

    def create_statement(self, row: dict[str, Any]) -> Any:
        return self._db.prepare(
            "INSERT INTO uploads (id, user_id, file_id, r2_key, r2_upload_id, filename, content_type, size_bytes,"
            " part_size, part_count, description, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ).bind(
            row["id"],
            row["user_id"],
            row["file_id"],
            row["r2_key"],
            row["r2_upload_id"],
            row["filename"],
            row["content_type"],
            row["size_bytes"],
            row["part_size"],
            row["part_count"],
            row.get("description"),
            row["created_at"],
            row["created_at"],
        )

    async def get_open(self, user_id: str, upload_id: str) -> dict[str, Any] | None:
        row = (
            await self._db.prepare(_SELECT + " WHERE id = ? AND user_id = ? AND status = 'open'")
            .bind(upload_id, user_id)
            .first()
        )
        return None if row is None else dict(row)

    async def parts(self, upload_id: str) -> list[dict[str, Any]]:
        result = (
            await self._db.prepare(
                "SELECT part_number, etag, size_bytes FROM upload_parts WHERE upload_id = ? ORDER BY part_number"
            )
            .bind(upload_id)
            .all()
        )
        return [dict(row) for row in result.results]

    async def record_part(self, upload_id: str, part_number: int, etag: str, size: int, now: str) -> None:
        # One transaction: the part and the upload's last activity (the reconciler aborts idle uploads).
        await self._db.batch(
            [
                self._db.prepare(
                    "INSERT INTO upload_parts (upload_id, part_number, etag, size_bytes) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (upload_id, part_number) DO UPDATE SET etag = excluded.etag,"
                    " size_bytes = excluded.size_bytes"
                ).bind(upload_id, part_number, etag, size),
                self._db.prepare("UPDATE uploads SET updated_at = ? WHERE id = ?").bind(now, upload_id),
            ]
        )

    async def idle_before(self, cutoff: str, limit: int = 100) -> list[dict[str, Any]]:
        result = (
            await self._db.prepare(_SELECT + " WHERE status = 'open' AND updated_at < ? ORDER BY updated_at LIMIT ?")
            .bind(cutoff, limit)
            .all()
        )
        return [dict(row) for row in result.results]

    async def close_many(self, upload_ids: list[str], status: str, now: str) -> None:
        await (
            self._db.prepare(
                "UPDATE uploads SET status = ?, updated_at = ? WHERE status = 'open'"
                " AND id IN (SELECT value FROM json_each(?))"
            )
            .bind(status, now, json.dumps(upload_ids))
            .run()
        )

    async def close(self, upload_id: str, status: str, now: str) -> bool:
        result = await (
            self._db.prepare("UPDATE uploads SET status = ?, updated_at = ? WHERE id = ? AND status = 'open'")
            .bind(status, now, upload_id)
            .run()
        )
        return result.meta["changes"] > 0

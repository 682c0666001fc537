"""Multipart upload state in D1, so parts can be retried and an upload resumed."""

import json
from typing import Any

_SELECT = (
    "SELECT id, user_id, file_id, r2_key, r2_upload_id, filename, content_type, size_bytes, part_size, part_count,"
    " description, status, created_at, updated_at, folder_id, protocol, offset_bytes, segments, epoch, expires_at,"
    " metadata FROM uploads"
)


class UploadRecords:
    def __init__(self, db: Any) -> None:
        self._db = db

    async def create(self, row: dict[str, Any]) -> None:
        await self.create_statement(row).run()

    def create_statement(self, row: dict[str, Any]) -> Any:
        return self._db.prepare(
            "INSERT INTO uploads (id, user_id, file_id, r2_key, r2_upload_id, filename, content_type, size_bytes,"
            " part_size, part_count, description, created_at, updated_at, folder_id, protocol, expires_at, metadata,"
            " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
            row.get("folder_id") or "",
            row.get("protocol", "parts"),
            row.get("expires_at"),
            row.get("metadata"),
            row.get("status", "open"),
        )

    async def get_open(self, user_id: str, upload_id: str) -> dict[str, Any] | None:
        row = (
            await self._db.prepare(_SELECT + " WHERE id = ? AND user_id = ? AND status = 'open'")
            .bind(upload_id, user_id)
            .first()
        )
        return None if row is None else dict(row)

    async def get_any(self, user_id: str, upload_id: str, protocol: str) -> dict[str, Any] | None:
        """An upload of this user over `protocol`, whatever its status."""
        row = (
            await self._db.prepare(_SELECT + " WHERE id = ? AND user_id = ? AND protocol = ?")
            .bind(upload_id, user_id, protocol)
            .first()
        )
        return None if row is None else dict(row)

    async def claim_writer(self, user_id: str, upload_id: str, offset: int, now: str) -> int | None:
        """Makes the caller the upload's only writer from `offset` (an older writer's commits
        fail from now on): its epoch, or None when the upload is not open at that offset."""
        row = await (
            self._db.prepare(
                "UPDATE uploads SET epoch = epoch + 1, updated_at = ? WHERE id = ? AND user_id = ?"
                " AND status = 'open' AND offset_bytes = ? RETURNING epoch"
            )
            .bind(now, upload_id, user_id, offset)
            .first()
        )
        return None if row is None else int(row["epoch"])

    def _part_if_writer(self, upload_id: str, epoch: int, number: int, etag: str, size: int) -> Any:
        return self._db.prepare(
            "INSERT INTO upload_parts (upload_id, part_number, etag, size_bytes) SELECT ?, ?, ?, ?"
            " WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ? AND epoch = ? AND status = 'open')"
            " ON CONFLICT (upload_id, part_number) DO UPDATE SET etag = excluded.etag, size_bytes = excluded.size_bytes"
        ).bind(upload_id, number, etag, size, upload_id, epoch)

    async def commit_progress(
        self,
        upload_id: str,
        epoch: int,
        parts: list[tuple[int, str, int]],
        offset: int,
        segments: str,
        now: str,
    ) -> bool:
        """Records parts stored (number, etag, size) and the new offset and segments, in one
        transaction, if the caller is still the upload's writer."""
        statements = [self._part_if_writer(upload_id, epoch, *part) for part in parts]
        statements.append(
            self._db.prepare(
                "UPDATE uploads SET offset_bytes = ?, segments = ?, updated_at = ? WHERE id = ? AND epoch = ?"
                " AND status = 'open' RETURNING id"
            ).bind(offset, segments, now, upload_id, epoch)
        )
        results = await self._db.batch(statements)
        return bool(results[-1].results)

    async def claim_final(
        self,
        upload_id: str,
        epoch: int,
        parts: list[tuple[int, str, int]],
        size: int,
        now: str,
        marker_expires: str,
    ) -> bool:
        """Records the last parts and closes the upload as completed in one transaction, if the
        caller is still its writer, with a reservation marker (as claim_for_completion)."""
        statements = [self._part_if_writer(upload_id, epoch, *part) for part in parts]
        statements += [
            self._db.prepare(
                "UPDATE uploads SET status = 'completed', offset_bytes = ?, segments = '[]', updated_at = ?"
                " WHERE id = ? AND epoch = ? AND status = 'open' RETURNING id"
            ).bind(size, now, upload_id, epoch),
            self._db.prepare(
                "INSERT OR REPLACE INTO upload_reservations (id, user_id, size_bytes, expires_at)"
                " SELECT id, user_id, size_bytes, ? FROM uploads WHERE id = ? AND status = 'completed'"
                " AND updated_at = ? AND epoch = ?"
            ).bind(marker_expires, upload_id, now, epoch),
        ]
        results = await self._db.batch(statements)
        return bool(results[-2].results)

    async def reopen_at(self, upload_id: str, offset: int, drop_from_part: int, now: str) -> None:
        """Gives a claimed tus upload back at `offset` (the start of the part `drop_from_part`,
        whose record goes): HEAD then tells the client to send that part's bytes again, so it
        never reports a whole upload that is not a file."""
        await self._db.batch(
            [
                self._db.prepare("DELETE FROM upload_parts WHERE upload_id = ? AND part_number >= ?").bind(
                    upload_id, drop_from_part
                ),
                self._db.prepare(
                    "UPDATE uploads SET status = 'open', offset_bytes = ?, segments = '[]', epoch = epoch + 1,"
                    " updated_at = ? WHERE id = ? AND status = 'completed'"
                ).bind(offset, now, upload_id),
                self._db.prepare("DELETE FROM upload_reservations WHERE id = ?").bind(upload_id),
            ]
        )

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

    async def idle_before(self, cutoff: str, now: str, limit: int = 100) -> list[dict[str, Any]]:
        """Open uploads to abort: multipart ones idle since before `cutoff`, tus ones expired
        (a tus client may resume days later, until Upload-Expires)."""
        result = (
            await self._db.prepare(
                _SELECT + " WHERE status = 'open' AND ((protocol = 'parts' AND updated_at < ?)"
                " OR (protocol = 'tus' AND expires_at < ?)) ORDER BY updated_at LIMIT ?"
            )
            .bind(cutoff, now, limit)
            .all()
        )
        return [dict(row) for row in result.results]

    async def close_many(self, upload_ids: list[str], status: str, now: str) -> list[str]:
        """Closes those still open, each with a reservation marker due at once (services/quota.py:
        the reconciler releases what the caller does not); the ids it closed."""
        ids = json.dumps(upload_ids)
        closed, _ = await self._db.batch(
            [
                self._db.prepare(
                    "UPDATE uploads SET status = ?, updated_at = ? WHERE status = 'open'"
                    " AND id IN (SELECT value FROM json_each(?)) RETURNING id"
                ).bind(status, now, ids),
                self._db.prepare(
                    "INSERT OR REPLACE INTO upload_reservations (id, user_id, size_bytes, expires_at)"
                    " SELECT id, user_id, size_bytes, ? FROM uploads"
                    " WHERE id IN (SELECT value FROM json_each(?)) AND status = ? AND updated_at = ?"
                ).bind(now, ids, status, now),
            ]
        )
        return [row["id"] for row in closed.results]

    async def claim_for_completion(self, upload_id: str, user_id: str, now: str, marker_expires: str) -> bool:
        """Closes an open upload as completed before its parts are assembled, so an abort (or
        the reconciler) can no longer release its reservation; a reservation marker comes back
        with it (services/quota.py) for the reconciler, should the completion die half way.
        False when the upload was not open (completed or aborted by another request)."""
        claimed, _ = await self._db.batch(
            [
                self._db.prepare(
                    "UPDATE uploads SET status = 'completed', updated_at = ?"
                    " WHERE id = ? AND user_id = ? AND status = 'open' RETURNING id"
                ).bind(now, upload_id, user_id),
                # Only if the update above claimed it (its updated_at is this claim's): a losing
                # claim must not bring a marker back for an upload that is already a file.
                self._db.prepare(
                    "INSERT OR REPLACE INTO upload_reservations (id, user_id, size_bytes, expires_at)"
                    " SELECT id, user_id, size_bytes, ? FROM uploads WHERE id = ? AND status = 'completed'"
                    " AND updated_at = ?"
                ).bind(marker_expires, upload_id, now),
            ]
        )
        return bool(claimed.results)

    async def reopen(self, upload_id: str, now: str) -> None:
        """Gives a claimed upload back (its parts could not be assembled: the client may retry)."""
        await self._db.batch(
            [
                self._db.prepare(
                    "UPDATE uploads SET status = 'open', updated_at = ? WHERE id = ? AND status = 'completed'"
                ).bind(now, upload_id),
                self._db.prepare("DELETE FROM upload_reservations WHERE id = ?").bind(upload_id),
            ]
        )

    async def writer_epoch(self, upload_id: str) -> int | None:
        """The epoch of the request that may write to an open upload (None: it is not open)."""
        row = await (
            self._db.prepare("SELECT epoch FROM uploads WHERE id = ? AND status = 'open'").bind(upload_id).first()
        )
        return None if row is None else int(row["epoch"])

    async def status_of(self, upload_id: str) -> str | None:
        row = await self._db.prepare("SELECT status FROM uploads WHERE id = ?").bind(upload_id).first()
        return None if row is None else row["status"]

    async def mark_aborted(self, upload_id: str, now: str) -> None:
        """Ends a claimed upload that did not become a file (refused, or its record failed)."""
        await (
            self._db.prepare(
                "UPDATE uploads SET status = 'aborted', updated_at = ? WHERE id = ? AND status = 'completed'"
            )
            .bind(now, upload_id)
            .run()
        )

    async def close(self, upload_id: str, status: str, now: str) -> bool:
        result = await (
            self._db.prepare("UPDATE uploads SET status = ?, updated_at = ? WHERE id = ? AND status = 'open'")
            .bind(status, now, upload_id)
            .run()
        )
        return result.meta["changes"] > 0

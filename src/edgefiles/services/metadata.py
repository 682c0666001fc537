"""File rows in D1."""

import json
from dataclasses import dataclass
from typing import Any

from edgefiles.services.folders import classify

_SELECT = (
    "SELECT id, user_id, filename, r2_key, content_type, size_bytes, sha256, description, status, ai_analysis,"
    " created_at, updated_at, file_request_id, trashed_at, folder_id, trashed_with, modified_at, md5, etag,"
    " COALESCE(chunk_count, 0) AS chunk_count FROM files"
)
# Shown to its owner and served by links: neither deleted nor in the trash.
_LISTED = "deleted_at IS NULL AND trashed_at IS NULL"


@dataclass(frozen=True)
class DeletedFile:
    r2_key: str
    image_sha256: str | None  # the digest its image analysis was cached under, if any
    chunk_count: int  # vectors it may have in Vectorize


class FileRecords:
    def __init__(self, db: Any) -> None:
        self._db = db

    async def insert(self, row: dict[str, Any]) -> None:
        await self.insert_statement(row).run()

    def insert_statement(self, row: dict[str, Any]) -> Any:
        return self._db.prepare(
            "INSERT INTO files (id, user_id, filename, r2_key, content_type, size_bytes, sha256,"
            " description, status, created_at, updated_at, file_request_id, folder_id, modified_at, md5, etag)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)"
        ).bind(
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
            row.get("file_request_id"),
            row.get("folder_id") or "",
            row.get("modified_at"),
            row.get("md5"),
            row.get("etag"),
        )

    def replace_named_statements(self, row: dict[str, Any]) -> list[Any]:
        """Statements, before the insert of `row`, that take its name from the listed file that
        holds it (if one does): its dead properties copied to `row`'s id, its text deleted, the
        file marked deleted (the third answers its id: ingest.REPLACED_RESULT). Its object and
        vectors go in the purge, as a deletion's do."""
        holder = "SELECT id FROM files WHERE user_id = ? AND folder_id = ? AND filename = ? AND " + _LISTED  # noqa: S608
        where = (row["user_id"], row.get("folder_id") or "", row["filename"])
        return [
            self._db.prepare(
                "INSERT OR REPLACE INTO dav_properties (user_id, target, namespace, name, value)"  # noqa: S608
                " SELECT user_id, ?, namespace, name, value FROM dav_properties WHERE user_id = ?"
                " AND target IN (SELECT 'file:' || id FROM (" + holder + "))"
            ).bind(f"file:{row['id']}", row["user_id"], *where),
            self._db.prepare(
                "DELETE FROM chunks WHERE file_id IN (" + holder + ")"  # noqa: S608
            ).bind(*where),
            self._db.prepare(
                "UPDATE files SET deleted_at = ?, updated_at = ?, ai_analysis = NULL, description = NULL,"  # noqa: S608
                " last_error = NULL WHERE id IN (" + holder + ") RETURNING id"
            ).bind(row["created_at"], row["created_at"], *where),
        ]

    async def get(self, user_id: str, file_id: str) -> dict[str, Any] | None:
        """A listed file of this user; None for a missing, trashed, deleted or someone else's file."""
        row = (
            await self._db.prepare(_SELECT + " WHERE id = ? AND user_id = ? AND " + _LISTED)
            .bind(file_id, user_id)
            .first()
        )
        return _decode(row)

    async def get_named(self, user_id: str, folder_id: str, filename: str) -> dict[str, Any] | None:
        """The listed file of this name in this folder, if one has it."""
        row = (
            await self._db.prepare(_SELECT + " WHERE user_id = ? AND folder_id = ? AND filename = ? AND " + _LISTED)
            .bind(user_id, folder_id, filename)
            .first()
        )
        return _decode(row)

    async def get_held(self, user_id: str, file_id: str) -> dict[str, Any] | None:
        """A file of this user that is stored, in the trash or not (the consumer analyses both:
        a trashed file may be restored)."""
        row = (
            await self._db.prepare(_SELECT + " WHERE id = ? AND user_id = ? AND deleted_at IS NULL")
            .bind(file_id, user_id)
            .first()
        )
        return _decode(row)

    async def get_live(self, file_id: str) -> dict[str, Any] | None:
        """A live file whoever owns it: for signed links, whose token is the authority."""
        row = await self._db.prepare(_SELECT + " WHERE id = ? AND " + _LISTED).bind(file_id).first()
        return _decode(row)

    async def list_page(
        self, user_id: str, limit: int, after: tuple[str, str] | None, file_request_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; `after` is the (created_at, id) of the previous page's last item. With
        `file_request_id`, only the files that arrived through that request."""
        where = " WHERE user_id = ? AND " + _LISTED
        params: list[Any] = [user_id]
        if file_request_id is not None:
            where += " AND file_request_id = ?"
            params.append(file_request_id)
        rows = await self._db.keyset_page(_SELECT, where, params, ("created_at", "id"), after, limit)
        return [_decode(row) for row in rows]

    async def trash_page(
        self, user_id: str, limit: int, after: tuple[str, str] | None, *, with_folders: bool = False
    ) -> list[dict[str, Any]]:
        """The files the user deleted one by one, most recently trashed first; `after` is
        (trashed_at, id). Files a folder's deletion took are listed with their folder, and
        here only `with_folders`."""
        where = " WHERE user_id = ? AND deleted_at IS NULL AND trashed_at IS NOT NULL"
        if not with_folders:
            where += " AND trashed_with IS NULL"
        rows = await self._db.keyset_page(_SELECT, where, [user_id], ("trashed_at", "id"), after, limit)
        return [_decode(row) for row in rows]

    async def trash(self, user_id: str, file_id: str, now: str) -> dict[str, Any] | None:
        """Moves a listed file to the trash; the row as it was, or None."""
        row = (
            await self._db.prepare(
                "UPDATE files SET trashed_at = ?, updated_at = ? WHERE id = ? AND user_id = ? AND "  # noqa: S608
                + _LISTED
                + " RETURNING id"
            )
            .bind(now, now, file_id, user_id)
            .first()
        )
        return None if row is None else dict(row)

    async def restore(self, user_id: str, file_id: str, now: str, name: str) -> dict[str, Any] | None:
        """Takes a file the user deleted by itself out of the trash, under `name`, back into its
        folder if that is live, else into the root; the restored row, or None."""
        try:
            row = (
                await self._db.prepare(
                    "UPDATE files SET trashed_at = NULL, updated_at = ?, filename = ?, folder_id = CASE"
                    " WHEN folder_id = '' OR EXISTS (SELECT 1 FROM folders f WHERE f.id = files.folder_id"
                    " AND f.trashed_at IS NULL) THEN folder_id ELSE '' END WHERE id = ? AND user_id = ?"
                    " AND deleted_at IS NULL AND trashed_at IS NOT NULL AND trashed_with IS NULL RETURNING id"
                )
                .bind(now, name, file_id, user_id)
                .first()
            )
        except Exception as error:
            raise classify(error) from None
        if row is None:
            return None
        return await self.get(user_id, file_id)

    async def discard(self, user_id: str, file_ids: list[str], now: str) -> None:
        """Marks files just made deleted, with their text, when their making is undone (a folder
        COPY that failed half way); the purge deletes their objects."""
        ids = json.dumps(file_ids)
        await self._db.batch(
            [
                self._db.prepare(
                    "UPDATE files SET deleted_at = ?, updated_at = ?, ai_analysis = NULL, description = NULL"  # noqa: S608
                    " WHERE user_id = ? AND id IN (SELECT value FROM json_each(?)) AND " + _LISTED
                ).bind(now, now, user_id, ids),
                self._db.prepare(
                    "DELETE FROM chunks WHERE user_id = ? AND file_id IN (SELECT value FROM json_each(?))"
                ).bind(user_id, ids),
            ]
        )

    async def get_trashed(self, user_id: str, file_id: str) -> dict[str, Any] | None:
        """A file the user deleted by itself, in the trash."""
        row = (
            await self._db.prepare(
                _SELECT + " WHERE id = ? AND user_id = ? AND deleted_at IS NULL AND trashed_at IS NOT NULL"
                " AND trashed_with IS NULL"
            )
            .bind(file_id, user_id)
            .first()
        )
        return _decode(row)

    async def move(self, user_id: str, file_id: str, *, filename: str, folder_id: str, now: str) -> bool:
        """Renames and/or moves a listed file (its R2 key stays); False when it is not listed."""
        try:
            row = (
                await self._db.prepare(
                    "UPDATE files SET filename = ?, folder_id = ?, updated_at = ? WHERE id = ? AND user_id = ? AND "  # noqa: S608
                    + _LISTED
                    + " RETURNING id"
                )
                .bind(filename, folder_id, now, file_id, user_id)
                .first()
            )
        except Exception as error:
            raise classify(error) from None
        return row is not None

    async def folder_files(
        self, user_id: str, folder_id: str, after: tuple[str, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """A folder's listed files in (filename, id) order after `after`."""
        where, params = " WHERE user_id = ? AND folder_id = ? AND " + _LISTED, [user_id, folder_id]
        if after is not None:
            where += " AND (filename, id) > (?, ?)"
            params += [after[0], after[1]]
        statement = self._db.prepare(_SELECT + where + " ORDER BY filename, id LIMIT ?")
        return [_decode(row) for row in (await statement.bind(*params, limit).all()).results]

    async def mark_deleted(
        self, user_id: str, file_id: str, now: str, *, trashed: bool = False
    ) -> "DeletedFile | None":
        """Marks a live file deleted; None if there was no such file.

        The file's text goes in the same transaction: its chunks, its analysis (summary,
        labels), its description and last error. Only the bookkeeping the reconciler needs
        (owner, key, size, times) stays. The image digest the analysis held is read first, in
        the same transaction, so the caller can drop the owner's cached image analysis too.
        With `trashed`, only a file in the trash."""
        scope = " AND trashed_at IS NOT NULL" if trashed else ""
        before, marked, _ = await self._db.batch(
            [
                self._db.prepare(
                    "SELECT json_extract(ai_analysis, '$.sha256') AS image_sha256 FROM files"  # noqa: S608
                    " WHERE id = ? AND user_id = ? AND deleted_at IS NULL" + scope
                ).bind(file_id, user_id),
                self._db.prepare(
                    "UPDATE files SET deleted_at = ?, updated_at = ?, ai_analysis = NULL, description = NULL,"  # noqa: S608
                    " last_error = NULL WHERE id = ? AND user_id = ? AND deleted_at IS NULL"
                    + scope
                    + " RETURNING r2_key, chunk_count"
                ).bind(now, now, file_id, user_id),
                self._db.prepare("DELETE FROM chunks WHERE file_id = ? AND user_id = ?").bind(file_id, user_id),
            ]
        )
        if not marked.results:
            return None
        digest = before.results[0]["image_sha256"] if before.results else None
        row = marked.results[0]
        return DeletedFile(row["r2_key"], digest if isinstance(digest, str) else None, row["chunk_count"] or 0)

    # Statements for the queue consumer, which writes a whole batch in one DB.batch. Each update
    # applies only to a file still `pending`, so a late or duplicate delivery changes nothing.

    def completed(
        self,
        file: dict[str, Any],
        analysis: dict[str, Any],
        description: str | None,
        chunks: list[tuple[int, str]],
        now: str,
    ) -> list[Any]:
        statements = [
            self._db.prepare(
                "UPDATE files SET status = 'completed', ai_analysis = ?, description = COALESCE(description, ?),"
                " last_error = NULL, updated_at = ? WHERE id = ? AND status = 'pending' AND deleted_at IS NULL"
            ).bind(json.dumps(analysis), description, now, file["id"]),
            self._db.prepare("DELETE FROM chunks WHERE file_id = ?").bind(file["id"]),
        ]
        # Only for a file still live: one deleted while it was being analysed keeps no text.
        insert = self._db.prepare(
            "INSERT INTO chunks (file_id, user_id, chunk_index, content) SELECT ?, ?, ?, ?"
            " WHERE EXISTS (SELECT 1 FROM files WHERE id = ? AND deleted_at IS NULL)"
        )
        statements += [insert.bind(file["id"], file["user_id"], i, text, file["id"]) for i, text in chunks]
        return statements

    async def vectors_written(self, file_id: str, chunk_count: int) -> bool:
        """Records, before a file's vectors are upserted, how many there will be, whatever the
        file's state (so a delete from now on, or the reconciler after it, deletes them). Answers
        whether the file is still live: if it is not, its vectors must not be written at all."""
        row = await (
            self._db.prepare(
                "UPDATE files SET chunk_count = MAX(COALESCE(chunk_count, 0), ?) WHERE id = ?"
                " RETURNING deleted_at IS NULL AS live"
            )
            .bind(chunk_count, file_id)
            .first()
        )
        return bool(row and row["live"])

    def failed(self, file_id: str, reason: str, now: str) -> Any:
        return self._db.prepare(
            "UPDATE files SET status = 'failed', ai_analysis = ?, last_error = ?, updated_at = ?"
            " WHERE id = ? AND status = 'pending' AND deleted_at IS NULL"
        ).bind(json.dumps({"error": reason}), reason, now, file_id)

    def attempt_failed(self, file_id: str, reason: str, now: str) -> Any:
        """Keeps the file pending but notes why this attempt failed (the dead-letter consumer
        reports the last one)."""
        return self._db.prepare(
            "UPDATE files SET last_error = ?, updated_at = ? WHERE id = ? AND status = 'pending' AND deleted_at IS NULL"
        ).bind(reason, now, file_id)

    async def last_error(self, file_id: str) -> str | None:
        row = await self._db.prepare("SELECT last_error FROM files WHERE id = ?").bind(file_id).first()
        return None if row is None else row["last_error"]

    async def keyword_hits(self, expression: str, limit: int) -> list[tuple[str, int, str]]:
        """Chunks matching an FTS5 expression (domain.search_index.keyword_expression, which
        restricts it to one owner), best BM25 first: [(file_id, chunk_index, snippet)]."""
        result = (
            await self._db.prepare(
                "SELECT c.file_id, c.chunk_index, snippet(chunk_text, 1, '', '', '…', 20) AS snippet"
                " FROM chunk_text JOIN chunks c ON c.id = chunk_text.rowid"
                " WHERE chunk_text MATCH ? ORDER BY bm25(chunk_text) LIMIT ?"
            )
            .bind(expression, limit)
            .all()
        )
        return [(row["file_id"], row["chunk_index"], row["snippet"]) for row in result.results]

    async def chunk_openings(
        self, user_id: str, chunks: list[tuple[str, int]], chars: int
    ) -> dict[tuple[str, int], str]:
        """The first `chars` characters of each of the caller's chunks named."""
        openings: dict[tuple[str, int], str] = {}
        for start in range(0, len(chunks), 40):  # D1 binds at most 100 parameters per statement
            part = chunks[start : start + 40]
            pairs = ", ".join("(?, ?)" for _ in part)
            result = (
                await self._db.prepare(
                    "SELECT file_id, chunk_index, substr(content, 1, ?) AS opening FROM chunks"  # noqa: S608
                    f" WHERE user_id = ? AND (file_id, chunk_index) IN (VALUES {pairs})"
                )
                .bind(chars, user_id, *[value for pair in part for value in pair])
                .all()
            )
            openings |= {(row["file_id"], row["chunk_index"]): row["opening"] for row in result.results}
        return openings

    async def get_many(self, user_id: str, file_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not file_ids:
            return {}
        placeholders = ", ".join("?" for _ in file_ids)
        result = (
            await self._db.prepare(_SELECT + f" WHERE user_id = ? AND {_LISTED} AND id IN ({placeholders})")
            .bind(user_id, *file_ids)
            .all()
        )
        return {row["id"]: _decode(row) for row in result.results}

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


class FileAudit:
    """The reconciler's queries. Each is one statement, whatever the number of keys or ids it
    asks about (they are passed as one JSON array and read with json_each), and each reads an
    index range no larger than its LIMIT, so a run's cost is fixed by its budget."""

    def __init__(self, db: Any) -> None:
        self._db = db

    async def unowned_keys(self, keys: list[str]) -> list[str]:
        """The keys no live file row points at."""
        if not keys:
            return []
        result = (
            await self._db.prepare(
                "SELECT j.value AS r2_key FROM json_each(?) j WHERE NOT EXISTS"
                " (SELECT 1 FROM files f WHERE f.r2_key = j.value AND f.deleted_at IS NULL)"
            )
            .bind(json.dumps(keys))
            .all()
        )
        return [row["r2_key"] for row in result.results]

    async def touch_pending(self, file_ids: list[str], now: str) -> None:
        """Moves re-enqueued files to the back of the pending scan."""
        await (
            self._db.prepare(
                "UPDATE files SET updated_at = ? WHERE status = 'pending' AND id IN (SELECT value FROM json_each(?))"
            )
            .bind(now, json.dumps(file_ids))
            .run()
        )

    async def deleted_after(
        self, after: tuple[str, str], before: str, upto: tuple[str, str], limit: int
    ) -> list[dict[str, Any]]:
        """Deleted files in (deleted_at, id) order after `after` and up to `upto`, deleted
        before `before`."""
        result = (
            await self._db.prepare(
                "SELECT id, r2_key, COALESCE(chunk_count, 0) AS chunk_count, deleted_at FROM files"
                " WHERE deleted_at IS NOT NULL AND (deleted_at, id) > (?, ?) AND (deleted_at, id) <= (?, ?)"
                " AND deleted_at < ? ORDER BY deleted_at, id LIMIT ?"
            )
            .bind(after[0], after[1], upto[0], upto[1], before, limit)
            .all()
        )
        return [dict(row) for row in result.results]

    async def drop_rows(self, file_ids: list[str]) -> None:
        """Removes the rows of purged files (their objects and vectors are gone): nothing is
        kept of a file once the purge has run."""
        ids = json.dumps(file_ids)
        await self._db.batch(
            [
                self._db.prepare(
                    "DELETE FROM files WHERE deleted_at IS NOT NULL AND id IN (SELECT value FROM json_each(?))"
                ).bind(ids),
                # Their WebDAV properties go with them (only those of rows just removed).
                self._db.prepare(
                    "DELETE FROM dav_properties WHERE target IN (SELECT 'file:' || value FROM json_each(?))"
                    " AND NOT EXISTS (SELECT 1 FROM files WHERE 'file:' || files.id = dav_properties.target)"
                ).bind(ids),
            ]
        )

    async def trash_expired(self, before: str, limit: int) -> list[dict[str, Any]]:
        """Trashed files whose retention ended (trashed before `before`), oldest first."""
        result = (
            await self._db.prepare(
                "SELECT id, user_id, json_extract(ai_analysis, '$.sha256') AS image_sha256 FROM files"
                " WHERE deleted_at IS NULL AND trashed_at IS NOT NULL AND trashed_at < ?"
                " ORDER BY trashed_at, id LIMIT ?"
            )
            .bind(before, limit)
            .all()
        )
        return [dict(row) for row in result.results]

    async def mark_trash_deleted(self, file_ids: list[str], now: str) -> list[str]:
        """Marks trashed files deleted, with their text (as FileRecords.mark_deleted does for
        one); the ids it marked."""
        ids = json.dumps(file_ids)
        marked, _ = await self._db.batch(
            [
                self._db.prepare(
                    "UPDATE files SET deleted_at = ?, updated_at = ?, ai_analysis = NULL, description = NULL,"
                    " last_error = NULL WHERE deleted_at IS NULL AND trashed_at IS NOT NULL"
                    " AND id IN (SELECT value FROM json_each(?)) RETURNING id"
                ).bind(now, now, ids),
                self._db.prepare(
                    "DELETE FROM chunks WHERE file_id IN (SELECT id FROM files WHERE deleted_at IS NOT NULL"
                    " AND id IN (SELECT value FROM json_each(?)))"
                ).bind(ids),
            ]
        )
        return [row["id"] for row in marked.results]

    async def expired_reservations(self, before: str, limit: int) -> list[dict[str, Any]]:
        result = (
            await self._db.prepare(
                "SELECT id, user_id FROM upload_reservations WHERE expires_at <= ? ORDER BY expires_at, id LIMIT ?"
            )
            .bind(before, limit)
            .all()
        )
        return [dict(row) for row in result.results]

    async def drop_reservations(self, reservation_ids: list[str]) -> None:
        await (
            self._db.prepare("DELETE FROM upload_reservations WHERE id IN (SELECT value FROM json_each(?))")
            .bind(json.dumps(reservation_ids))
            .run()
        )

    async def changed_after(self, after: tuple[str, str], before: str, limit: int) -> list[dict[str, Any]]:
        """Rows in (updated_at, id) order after `after` that changed before `before`."""
        result = (
            await self._db.prepare(
                "SELECT updated_at, id, user_id FROM files WHERE (updated_at, id) > (?, ?) AND updated_at < ?"
                " ORDER BY updated_at, id LIMIT ?"
            )
            .bind(after[0], after[1], before, limit)
            .all()
        )
        return [dict(row) for row in result.results]

    async def live_totals(self, user_id: str) -> tuple[int, int]:
        """A user's live file count and bytes (read from the files_user_live index alone)."""
        row = (
            await self._db.prepare(
                "SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes), 0) AS total FROM files"
                " WHERE user_id = ? AND deleted_at IS NULL"
            )
            .bind(user_id)
            .first()
        )
        return int(row["n"]), int(row["total"])

    async def live_page(self, user_id: str, after: str, limit: int) -> list[dict[str, Any]]:
        """A user's live files by id after `after`, as UserStats counts them."""
        result = (
            await self._db.prepare(
                "SELECT id AS file_id, size_bytes, content_type, created_at FROM files"
                " WHERE user_id = ? AND deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?"
            )
            .bind(user_id, after, limit)
            .all()
        )
        return [dict(row) for row in result.results]

    async def legacy_vectors(self, limit: int) -> list[dict[str, Any]]:
        """Embeddings from before Vectorize (migration 0005), and whether their file is live."""
        result = (
            await self._db.prepare(
                "SELECT v.rowid AS row, v.file_id, v.user_id, v.chunk_index, hex(v.embedding) AS embedding,"
                " f.deleted_at IS NULL AND f.id IS NOT NULL AS live"
                " FROM legacy_chunk_vectors v LEFT JOIN files f ON f.id = v.file_id ORDER BY v.rowid LIMIT ?"
            )
            .bind(limit)
            .all()
        )
        return [dict(row) for row in result.results]

    async def drop_legacy_vectors(self, rows: list[int]) -> None:
        await (
            self._db.prepare("DELETE FROM legacy_chunk_vectors WHERE rowid IN (SELECT value FROM json_each(?))")
            .bind(json.dumps(rows))
            .run()
        )


class ReconcilerCursors:
    """Where each reconciler step stopped, as JSON, read and written once per run."""

    def __init__(self, db: Any) -> None:
        self._db = db

    async def load(self) -> dict[str, Any]:
        result = await self._db.prepare("SELECT step, cursor FROM reconciler_cursors").all()
        return {row["step"]: json.loads(row["cursor"]) for row in result.results}

    async def save(self, cursors: dict[str, Any], now: str) -> None:
        if not cursors:
            return
        await (
            self._db.prepare(
                "INSERT INTO reconciler_cursors (step, cursor, updated_at) SELECT key, value, ? FROM json_each(?)"
                " WHERE true ON CONFLICT (step) DO UPDATE SET cursor = excluded.cursor,"
                " updated_at = excluded.updated_at"
            )
            .bind(now, json.dumps({step: json.dumps(cursor) for step, cursor in cursors.items()}))
            .run()
        )


def _decode(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    record = dict(row)
    if record.get("ai_analysis"):
        record["ai_analysis"] = json.loads(record["ai_analysis"])
    return record

"""Share links and file requests in D1 (`share_links`, `file_requests`)."""

import json
from typing import Any

_LINK = (
    "SELECT l.id, l.user_id, l.file_id, l.label, l.password_hash, l.max_downloads, l.expires_at, l.created_at,"
    " l.revoked_at, f.filename, CASE WHEN f.id IS NULL OR f.deleted_at IS NOT NULL THEN 'deleted'"
    " WHEN f.trashed_at IS NOT NULL THEN 'trashed' ELSE 'stored' END AS file_state"
    " FROM share_links l LEFT JOIN files f ON f.id = l.file_id"
)
_REQUEST = (
    "SELECT id, user_id, label, password_hash, max_files, max_file_size, allowed_types, expires_at, created_at,"
    " revoked_at, folder_id FROM file_requests"
)


def _request(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    value = dict(row)
    value["allowed_types"] = json.loads(value["allowed_types"])
    return value


class ShareLinks:
    def __init__(self, database: Any) -> None:
        self._db = database

    def create(self, link: dict[str, Any]) -> Any:
        return self._db.prepare(
            "INSERT INTO share_links (id, user_id, file_id, label, password_hash, max_downloads, expires_at,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ).bind(
            link["id"],
            link["user_id"],
            link["file_id"],
            link["label"],
            link["password_hash"],
            link["max_downloads"],
            link["expires_at"],
            link["created_at"],
        )

    async def get(self, link_id: str) -> dict[str, Any] | None:
        row = await self._db.prepare(_LINK + " WHERE l.id = ?").bind(link_id).first()
        return None if row is None else dict(row)

    async def page(
        self, user_id: str, limit: int, after: tuple[str, str] | None, file_id: str | None = None
    ) -> list[dict[str, Any]]:
        where = " WHERE l.user_id = ? AND l.revoked_at IS NULL"
        params: list[Any] = [user_id]
        if file_id is not None:
            where += " AND l.file_id = ?"
            params.append(file_id)
        rows = await self._db.keyset_page(_LINK, where, params, ("l.created_at", "l.id"), after, limit)
        return [dict(row) for row in rows]

    def revoke(self, user_id: str, link_id: str, now: str) -> Any:
        return self._db.prepare(
            "UPDATE share_links SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL RETURNING id"
        ).bind(now, link_id, user_id)


class FileRequests:
    def __init__(self, database: Any) -> None:
        self._db = database

    def create(self, request: dict[str, Any]) -> Any:
        return self._db.prepare(
            "INSERT INTO file_requests (id, user_id, label, password_hash, max_files, max_file_size, allowed_types,"
            " expires_at, created_at, folder_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ).bind(
            request["id"],
            request["user_id"],
            request["label"],
            request["password_hash"],
            request["max_files"],
            request["max_file_size"],
            json.dumps(request["allowed_types"]),
            request["expires_at"],
            request["created_at"],
            request.get("folder_id") or "",
        )

    async def get(self, request_id: str) -> dict[str, Any] | None:
        return _request(await self._db.prepare(_REQUEST + " WHERE id = ?").bind(request_id).first())

    async def page(self, user_id: str, limit: int, after: tuple[str, str] | None) -> list[dict[str, Any]]:
        where = " WHERE user_id = ? AND revoked_at IS NULL"
        rows = await self._db.keyset_page(_REQUEST, where, [user_id], ("created_at", "id"), after, limit)
        return [_request(row) for row in rows]

    def revoke(self, user_id: str, request_id: str, now: str) -> Any:
        return self._db.prepare(
            "UPDATE file_requests SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL RETURNING id"
        ).bind(now, request_id, user_id)

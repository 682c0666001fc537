"""API keys in D1: prefix -> (user, SHA-256 of the key)."""

from typing import Any


class ApiKeys:
    def __init__(self, db: Any) -> None:
        self._db = db

    async def create(self, prefix: str, user_id: str, key_hash: str, now: str) -> None:
        await self.create_statement(prefix, user_id, key_hash, now).run()

    def create_statement(self, prefix: str, user_id: str, key_hash: str, now: str) -> Any:
        return self._db.prepare(
            "INSERT INTO api_keys (prefix, user_id, key_hash, created_at) VALUES (?, ?, ?, ?)"
        ).bind(prefix, user_id, key_hash, now)

    async def find_active(self, prefix: str) -> dict[str, Any] | None:
        row = (
            await self._db.prepare("SELECT user_id, key_hash FROM api_keys WHERE prefix = ? AND revoked_at IS NULL")
            .bind(prefix)
            .first()
        )
        return None if row is None else dict(row)

    async def revoke(self, prefix: str, now: str) -> str | None:
        """Revokes an active key; the user it belonged to, or None."""
        row = await (
            self._db.prepare(
                "UPDATE api_keys SET revoked_at = ? WHERE prefix = ? AND revoked_at IS NULL RETURNING user_id"
            )
            .bind(now, prefix)
            .first()
        )
        return None if row is None else row["user_id"]

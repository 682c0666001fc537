"""Per-user statistics kept by the UserStats Durable Object, reached over RPC."""

from typing import Any


class UserStatsClient:
    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    def _stub(self, user_id: str) -> Any:
        return self._namespace.getByName(user_id)

    async def record_upload(self, user_id: str, file_id: str, size_bytes: int, content_type: str) -> None:
        await self._stub(user_id).record_upload(file_id, size_bytes, content_type)

    async def record_delete(self, user_id: str, file_id: str) -> None:
        await self._stub(user_id).record_delete(file_id)

    async def replace_range(
        self, user_id: str, after: str, upto: str | None, files: list[dict[str, Any]], as_of: str
    ) -> None:
        await self._stub(user_id).replace_range(after, upto, files, as_of)

    async def stats(self, user_id: str) -> dict[str, Any]:
        return dict(await self._stub(user_id).stats())

"""Per-user statistics and the event stream, kept by the UserStats Durable Object, over RPC."""

from typing import Any


class UserStatsClient:
    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    def _stub(self, user_id: str) -> Any:
        return self._namespace.getByName(user_id)

    async def record_upload(
        self, user_id: str, file_id: str, size_bytes: int, content_type: str, view: dict[str, Any] | None = None
    ) -> None:
        await self._stub(user_id).record_upload(file_id, size_bytes, content_type, view)

    async def file_updated(self, user_id: str, view: dict[str, Any]) -> None:
        await self._stub(user_id).file_updated(view)

    async def issue_ticket(self, user_id: str, ticket: str, expires_at_ms: int) -> None:
        await self._stub(user_id).issue_ticket(ticket, expires_at_ms)

    async def open_stream(self, user_id: str, request: Any) -> Any:
        """Forwards a WebSocket upgrade to the user's object, which redeems its ticket."""
        return await self._stub(user_id).fetch(request)

    async def record_delete(self, user_id: str, file_id: str) -> None:
        await self._stub(user_id).record_delete(file_id)

    async def replace_range(
        self, user_id: str, after: str, upto: str | None, files: list[dict[str, Any]], as_of: str
    ) -> None:
        await self._stub(user_id).replace_range(after, upto, files, as_of)

    async def stats(self, user_id: str) -> dict[str, Any]:
        return dict(await self._stub(user_id).stats())

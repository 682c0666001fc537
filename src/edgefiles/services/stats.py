"""Per-user statistics, the event stream and the user's ledger (quota reservations, link
downloads, file-request counts, the day's AI calls), kept by the UserStats Durable Object, over RPC."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QuotaDefaults:
    """Every user's quota unless the admin set theirs (vars QUOTA_BYTES, QUOTA_FILES, AI_DAILY_CALLS)."""

    max_bytes: int
    max_files: int
    ai_daily_calls: int

    def args(self) -> tuple[int, int, int]:
        return (self.max_bytes, self.max_files, self.ai_daily_calls)


def _py(value: Any) -> Any:
    """An RPC result as plain Python (the SDK may hand nested objects over as JS proxies)."""
    return value.to_py() if hasattr(value, "to_py") else value


class UserStatsClient:
    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    def _stub(self, user_id: str) -> Any:
        return self._namespace.getByName(user_id)

    async def record_upload(
        self,
        user_id: str,
        file_id: str,
        size_bytes: int,
        content_type: str,
        view: dict[str, Any] | None = None,
        reservation_id: str | None = None,
        file_request_id: str | None = None,
    ) -> None:
        await self._stub(user_id).record_upload(
            file_id, size_bytes, content_type, view, reservation_id, file_request_id
        )

    async def record_deletes(self, user_id: str, file_ids: list[str]) -> int:
        return int(await self._stub(user_id).record_deletes(file_ids))

    # WebDAV locks (durable_objects/dav_locks.py), in the user's object.

    async def dav_lock(self, user_id: str, lock: dict[str, Any]) -> dict[str, Any]:
        return dict(_py(await self._stub(user_id).dav_lock(lock)))

    async def dav_covering(self, user_id: str, path: str) -> list[dict[str, Any]]:
        return [dict(lock) for lock in _py(await self._stub(user_id).dav_covering(path))]

    async def dav_touching(self, user_id: str, path: str) -> list[dict[str, Any]]:
        return [dict(lock) for lock in _py(await self._stub(user_id).dav_touching(path))]

    async def dav_refresh(
        self, user_id: str, tokens: list[str], path: str, timeout_seconds: int
    ) -> dict[str, Any] | None:
        refreshed = _py(await self._stub(user_id).dav_refresh(tokens, path, timeout_seconds))
        return None if refreshed is None else dict(refreshed)

    async def dav_unlock(self, user_id: str, token: str, path: str) -> bool:
        return bool(_py(await self._stub(user_id).dav_unlock(token, path)))

    async def dav_forget(self, user_id: str, path: str) -> None:
        await self._stub(user_id).dav_forget(path)

    async def file_trashed(self, user_id: str, file_id: str) -> None:
        await self._stub(user_id).file_trashed(file_id)

    async def file_restored(self, user_id: str, view: dict[str, Any]) -> None:
        await self._stub(user_id).file_restored(view)

    async def usage(self, user_id: str, defaults: QuotaDefaults) -> dict[str, Any]:
        return dict(_py(await self._stub(user_id).usage(*defaults.args())))

    async def reserve(
        self,
        user_id: str,
        reservation: dict[str, Any],
        defaults: QuotaDefaults,
        request_max_files: int | None = None,
    ) -> dict[str, Any]:
        """Reserves quota for an upload: {"ok", "refused", **usage}. See durable_objects/ledger.py."""
        answer = await self._stub(user_id).reserve(
            reservation["id"],
            reservation["file_id"],
            reservation["size_bytes"],
            reservation["expires_at"],
            reservation.get("file_request_id"),
            request_max_files,
            *defaults.args(),
        )
        return dict(_py(answer))

    async def release(self, user_id: str, reservation_ids: list[str]) -> int:
        return int(await self._stub(user_id).release(reservation_ids))

    async def set_limits(
        self, user_id: str, max_bytes: int | None, max_files: int | None, ai_daily_calls: int | None
    ) -> None:
        await self._stub(user_id).set_limits(max_bytes, max_files, ai_daily_calls)

    async def claim_download(self, user_id: str, link_id: str, max_downloads: int | None, now: str) -> dict[str, Any]:
        return dict(_py(await self._stub(user_id).claim_download(link_id, max_downloads, now)))

    async def link_usage(self, user_id: str, link_ids: list[str]) -> dict[str, dict[str, Any]]:
        usage = _py(await self._stub(user_id).link_usage(link_ids))
        return {key: dict(value) for key, value in dict(usage).items()}

    async def files_received(self, user_id: str, request_ids: list[str]) -> dict[str, int]:
        received = _py(await self._stub(user_id).files_received(request_ids))
        return {key: int(value) for key, value in dict(received).items()}

    async def begin_password_attempt(
        self, user_id: str, attempt: str, limits: dict[str, int], tries: int, window_ms: int
    ) -> bool:
        stub = self._stub(user_id)
        return bool(await stub.begin_password_attempt(attempt, list(limits), list(limits.values()), tries, window_ms))

    async def end_password_attempt(self, user_id: str, attempt: str, right: bool) -> None:
        await self._stub(user_id).end_password_attempt(attempt, right)

    async def charge_ai_many(
        self, user_id: str, items: list[tuple[str, int, str]], day: str, defaults: QuotaDefaults
    ) -> list[bool]:
        """Charges several works at once: (key, calls, pool) each; whether each was allowed."""
        keys, calls, pools = ([item[i] for item in items] for i in range(3))
        answer = _py(await self._stub(user_id).charge_ai_many(keys, calls, pools, day, *defaults.args()))
        return [bool(ok) for ok in answer]

    async def files_updated(self, user_id: str, views: list[dict[str, Any]]) -> None:
        await self._stub(user_id).files_updated(views)

    async def charge_ai(
        self, user_id: str, key: str, calls: int, day: str, defaults: QuotaDefaults, pool: str = "own"
    ) -> dict[str, Any]:
        return dict(_py(await self._stub(user_id).charge_ai(key, calls, day, pool, *defaults.args())))

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

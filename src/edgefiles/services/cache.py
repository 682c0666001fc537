"""Hot file metadata in KV, keyed by owner and id (domain.files.cache_key)."""

import json
from typing import Any

# KV refuses an expirationTtl under 60 seconds.
MIN_TTL_SECONDS = 60


class MetadataCache:
    def __init__(self, kv: Any, ttl_seconds: int) -> None:
        self._kv = kv
        self._ttl = max(MIN_TTL_SECONDS, ttl_seconds)

    async def get(self, key: str) -> dict[str, Any] | None:
        cached = await self._kv.get(key)
        return None if cached is None else json.loads(cached)

    async def put(self, key: str, value: dict[str, Any]) -> None:
        await self._kv.put(key, json.dumps(value), {"expirationTtl": self._ttl})

    async def delete(self, key: str) -> None:
        await self._kv.delete(key)

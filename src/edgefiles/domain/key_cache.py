"""Verified API keys remembered per isolate for a short time, so an authenticated request does
not pay a D1 round trip before its real work. Entries are keyed by the key's hash (the key itself
is never kept), expire after a TTL, and are dropped at once when the key is revoked through the
same isolate; other isolates honour a revocation within the TTL."""

from collections import OrderedDict
from dataclasses import dataclass

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    prefix: str
    user_id: str
    expires_at: float


class VerifiedKeys:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max = max_entries

    def user_for(self, key_hash: str, now: float) -> str | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry.expires_at <= now:
            del self._entries[key_hash]
            return None
        return entry.user_id

    def remember(self, key_hash: str, prefix: str, user_id: str, now: float, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries[key_hash] = _Entry(prefix, user_id, now + ttl)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget_prefix(self, prefix: str) -> None:
        for key_hash in [h for h, e in self._entries.items() if e.prefix == prefix]:
            del self._entries[key_hash]

"""Everything a request needs, built from `env` once per request (cheap: no I/O)."""

from dataclasses import dataclass
from typing import Any

from edgefiles.services.ai import AiService
from edgefiles.services.cache import MetadataCache
from edgefiles.services.database import Database
from edgefiles.services.jobs import JobQueue
from edgefiles.services.keys import ApiKeys
from edgefiles.services.metadata import FileRecords
from edgefiles.services.stats import UserStatsClient
from edgefiles.services.storage import FileStorage
from edgefiles.services.uploads import UploadRecords


@dataclass(frozen=True)
class Settings:
    max_file_size: int
    allowed_types: frozenset[str]
    cache_ttl: int
    auth_cache_seconds: int
    admin_token: str | None
    signing_key: bytes | None

    @classmethod
    def from_env(cls, env: Any) -> "Settings":
        admin = getattr(env, "ADMIN_TOKEN", None)
        signing = getattr(env, "SIGNING_KEY", None)
        return cls(
            max_file_size=int(env.MAX_FILE_SIZE),
            allowed_types=frozenset(t.strip() for t in env.ALLOWED_CONTENT_TYPES.split(",") if t.strip()),
            cache_ttl=int(env.CACHE_TTL_SECONDS),
            auth_cache_seconds=int(getattr(env, "AUTH_CACHE_SECONDS", "0")),
            admin_token=admin or None,
            signing_key=signing.encode() if signing else None,
        )


class Services:
    def __init__(self, env: Any) -> None:
        self.settings = Settings.from_env(env)
        self.database = Database(env.DB)
        self.storage = FileStorage(env.STORAGE)
        self.records = FileRecords(self.database)
        self.uploads = UploadRecords(self.database)
        self.keys = ApiKeys(self.database)
        self.ai = AiService(env.AI)
        self.cache = MetadataCache(env.CACHE, self.settings.cache_ttl)
        self.jobs = JobQueue(env.QUEUE)
        self.stats = UserStatsClient(env.USER_STATS)

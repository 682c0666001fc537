"""Everything a request needs, built from `env` once per request (cheap: no I/O)."""

import logging
from dataclasses import dataclass
from typing import Any

from edgefiles.domain.numbers import is_decimal
from edgefiles.domain.secrets_policy import refusal
from edgefiles.services.ai import AiService
from edgefiles.services.audit import AuditTrail
from edgefiles.services.cache import MetadataCache
from edgefiles.services.database import Database
from edgefiles.services.dav_properties import DeadProperties
from edgefiles.services.folders import FolderRecords
from edgefiles.services.jobs import JobQueue
from edgefiles.services.keys import ApiKeys
from edgefiles.services.metadata import FileRecords
from edgefiles.services.rate_limits import RateLimits
from edgefiles.services.sharing import FileRequests, ShareLinks
from edgefiles.services.stats import QuotaDefaults, UserStatsClient
from edgefiles.services.storage import FileStorage
from edgefiles.services.uploads import UploadRecords
from edgefiles.services.vectors import ChunkVectors

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    max_file_size: int
    max_form_file_size: int
    allowed_types: frozenset[str]
    cache_ttl: int
    auth_cache_seconds: int
    admin_token: str | None
    signing_key: bytes | None
    quota: QuotaDefaults
    trash_retention_days: int
    max_dav_file_size: int = 100_000_000

    @classmethod
    def from_env(cls, env: Any) -> "Settings":
        admin = _usable_secret(env, "ADMIN_TOKEN")
        signing = _usable_secret(env, "SIGNING_KEY")
        max_file_size = int(env.MAX_FILE_SIZE)
        return cls(
            max_file_size=max_file_size,
            max_form_file_size=min(int_var(env, "MAX_FORM_FILE_SIZE", DEFAULT_MAX_FORM_FILE_SIZE), max_file_size),
            allowed_types=frozenset(t.strip() for t in env.ALLOWED_CONTENT_TYPES.split(",") if t.strip()),
            cache_ttl=int(env.CACHE_TTL_SECONDS),
            auth_cache_seconds=int(getattr(env, "AUTH_CACHE_SECONDS", "0")),
            admin_token=admin or None,
            signing_key=signing.encode() if signing else None,
            quota=QuotaDefaults(
                max_bytes=int_var(env, "QUOTA_BYTES", DEFAULT_QUOTA_BYTES),
                max_files=int_var(env, "QUOTA_FILES", DEFAULT_QUOTA_FILES),
                ai_daily_calls=int_var(env, "AI_DAILY_CALLS", DEFAULT_AI_DAILY_CALLS),
            ),
            trash_retention_days=int_var(env, "TRASH_RETENTION_DAYS", DEFAULT_TRASH_RETENTION_DAYS),
            max_dav_file_size=int_var(env, "MAX_DAV_FILE_SIZE", DEFAULT_MAX_DAV_FILE_SIZE),
        )


# Defaults for vars a deployment may leave out (wrangler.toml sets each and says why).
DEFAULT_QUOTA_BYTES = 10 * 1000**3
DEFAULT_QUOTA_FILES = 100_000
DEFAULT_AI_DAILY_CALLS = 1000
DEFAULT_TRASH_RETENTION_DAYS = 30
DEFAULT_MAX_DAV_FILE_SIZE = 100_000_000

# A form upload is parsed in the isolate's 128 MB (see wrangler.toml): the cap when no var says.
DEFAULT_MAX_FORM_FILE_SIZE = 32 * 1024 * 1024


def int_var(env: Any, name: str, default: int) -> int:
    """An optional whole-number var: its value, or `default` when unset or not ASCII digits."""
    value = str(getattr(env, name, "") or "").strip()
    return int(value) if is_decimal(value) else default


# Secrets already reported by this isolate: one log line each, not one per request.
_REPORTED_REFUSALS: set[str] = set()


def _usable_secret(env: Any, name: str) -> str | None:
    """The secret, or None when it is missing or refused (see domain/secrets_policy.py)."""
    value = getattr(env, name, None)
    if not value:
        return None
    reason = refusal(value)
    if reason is None:
        return value
    if name not in _REPORTED_REFUSALS:
        _REPORTED_REFUSALS.add(name)
        logger.error("%s refused: %s; what it protects is disabled until a random secret is set", name, reason)
    return None


class Services:
    def __init__(self, env: Any) -> None:
        self.settings = Settings.from_env(env)
        self.database = Database(env.DB)
        self.storage = FileStorage(env.STORAGE)
        self.records = FileRecords(self.database)
        self.uploads = UploadRecords(self.database)
        self.folders = FolderRecords(self.database)
        self.dav_properties = DeadProperties(self.database)
        self.keys = ApiKeys(self.database)
        self.ai = AiService.from_env(env)
        self.cache = MetadataCache(env.CACHE, self.settings.cache_ttl)
        self.jobs = JobQueue(env.QUEUE)
        self.stats = UserStatsClient(env.USER_STATS)
        self.vectors = ChunkVectors(env.VECTORS)
        self.rate_limits = RateLimits(env)
        self.audit = AuditTrail(self.database)
        self.links = ShareLinks(self.database)
        self.file_requests = FileRequests(self.database)

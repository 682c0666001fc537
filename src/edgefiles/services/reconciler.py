"""The reconciler, run by the cron trigger. Each step repairs one way state can drift when a
multi-binding write fails half way; every step is idempotent and logs what it did.

1. Files `pending` for longer than the grace period: their queue send failed (or the job was
   lost), so they are enqueued again.
2. Objects under uploads/ with no live row, older than the grace period: an upload whose D1
   insert failed and whose clean-up failed too, or a deleted file whose object delete failed.
3. Multipart uploads idle for more than a day: aborted in R2 and closed.
4. Users whose files changed recently: their UserStats object is compared with D1 and rebuilt
   from D1 when the two disagree (a failed stats call on upload or delete).
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from edgefiles.domain.clock import iso
from edgefiles.services.container import Services
from edgefiles.services.database import Database
from edgefiles.services.metadata import FileAudit

logger = logging.getLogger(__name__)

UPLOAD_PREFIX = "uploads/"
IDLE_UPLOAD_AGE = timedelta(days=1)
STATS_WINDOW = timedelta(days=2)


@dataclass
class Report:
    requeued: list[str] = field(default_factory=list)
    orphans_deleted: list[str] = field(default_factory=list)
    uploads_aborted: list[str] = field(default_factory=list)
    stats_rebuilt: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(value) for name, value in self.__dict__.items()}


class Reconciler:
    def __init__(self, env: Any, *, grace: timedelta, now: datetime | None = None) -> None:
        self.services = Services(env)
        self.audit = FileAudit(Database(env.DB))
        self.grace = grace
        self.now = now or datetime.now(UTC)
        self.report = Report()

    async def run(self) -> Report:
        # Steps are independent: one failing must not stop the others from repairing.
        for step in (self.requeue_pending, self.delete_orphans, self.abort_idle_uploads, self.repair_stats):
            try:
                await step()
            except Exception:
                logger.exception("reconcile step %s failed", step.__name__)
        logger.info("reconcile: %s", {k: len(v) for k, v in self.report.as_dict().items()})
        return self.report

    async def requeue_pending(self) -> None:
        for file in await self.services.records.pending_before(iso(self.now - self.grace)):
            await self.services.jobs.file_uploaded(file["id"], file["user_id"])
            self.report.requeued.append(file["id"])
            logger.info("reconcile: re-enqueued pending file %s", file["id"])

    async def delete_orphans(self) -> None:
        cutoff_ms = (self.now - self.grace).timestamp() * 1000
        cursor = None
        while True:
            objects, cursor = await self.services.storage.list_page(UPLOAD_PREFIX, cursor)
            old = [obj.key for obj in objects if obj.uploaded.getTime() < cutoff_ms]
            live = await self.audit.live_keys(old)
            orphans = [key for key in old if key not in live]
            if orphans:
                await self.services.storage.delete_many(orphans)
                self.report.orphans_deleted += orphans
                logger.info("reconcile: deleted %d orphan object(s): %s", len(orphans), orphans[:10])
            if cursor is None:
                return

    async def abort_idle_uploads(self) -> None:
        for upload in await self.services.uploads.idle_before(iso(self.now - IDLE_UPLOAD_AGE)):
            try:
                await self.services.storage.abort_multipart(upload["r2_key"], upload["r2_upload_id"])
            except Exception as error:
                # R2 may already have expired it; closing the row is what matters here.
                logger.warning("reconcile: R2 abort of upload %s failed: %s", upload["id"], error)
            await self.services.uploads.close(upload["id"], "aborted", iso(self.now))
            self.report.uploads_aborted.append(upload["id"])
            logger.info("reconcile: aborted idle multipart upload %s", upload["id"])

    async def repair_stats(self) -> None:
        for user_id in await self.audit.users_changed_since(iso(self.now - STATS_WINDOW)):
            files = await self.audit.live_files(user_id)
            stats = await self.services.stats.stats(user_id)
            if stats["upload_count"] == len(files) and stats["total_bytes"] == sum(f["size_bytes"] for f in files):
                continue
            await self.services.stats.rebuild(user_id, files)
            self.report.stats_rebuilt.append(user_id)
            logger.info("reconcile: rebuilt stats of %s from D1 (%d files)", user_id, len(files))

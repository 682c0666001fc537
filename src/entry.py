"""The Worker's main module: wiring only. workerd imports it as `entry`."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from workers import WorkerEntrypoint

from durable_objects.user_stats import UserStats
from edgefiles.app import handle_request
from edgefiles.services.jobs import JobQueue
from edgefiles.services.metadata import FileRecords
from queue_consumers.file_processor import process_batch

__all__ = ["Default", "UserStats"]

logger = logging.getLogger("edgefiles")
DEAD_LETTER_QUEUE = "edgefiles-jobs-dlq"


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        return await handle_request(request, self.env)

    async def queue(self, batch: Any) -> None:
        await process_batch(batch, self.env, DEAD_LETTER_QUEUE)

    async def scheduled(self, controller: Any) -> None:
        """Re-enqueues files whose processing never started (their queue send failed)."""
        grace = timedelta(minutes=int(self.env.PENDING_GRACE_MINUTES))
        cutoff = (datetime.now(UTC) - grace).isoformat(timespec="milliseconds")
        stuck = await FileRecords(self.env.DB).pending_before(cutoff)
        jobs = JobQueue(self.env.QUEUE)
        for file in stuck:
            await jobs.file_uploaded(file["id"], file["user_id"])
        logger.info("reconcile (%s): re-enqueued %d pending file(s)", controller.cron, len(stuck))

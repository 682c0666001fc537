"""The Worker's main module: wiring only. workerd imports it as `entry`."""

from datetime import UTC, datetime, timedelta
from typing import Any

from workers import WorkerEntrypoint

from durable_objects.user_stats import UserStats
from edgefiles.app import handle_request
from edgefiles.services.reconciler import Reconciler
from queue_consumers.file_processor import FileProcessor

__all__ = ["Default", "UserStats"]

DEAD_LETTER_QUEUE = "edgefiles-jobs-dlq"


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        return await handle_request(request, self.env, self.ctx)

    # workerd calls queue and scheduled strictly with (event, env, ctx); for a class entrypoint
    # env and ctx are None, and self.env / self.ctx are what to use.
    async def queue(self, batch: Any, env: Any, ctx: Any) -> None:
        await FileProcessor(self.env, DEAD_LETTER_QUEUE).process_batch(batch)

    async def scheduled(self, controller: Any, env: Any, ctx: Any) -> None:
        # The run's "now" is the time it was scheduled for, which also lets a test run it as of later.
        now = datetime.fromtimestamp(controller.scheduledTime / 1000, UTC)
        grace = timedelta(minutes=int(self.env.RECONCILE_GRACE_MINUTES))
        await Reconciler(self.env, grace=grace, now=now).run()

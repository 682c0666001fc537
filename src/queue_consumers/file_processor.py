"""The queue consumer: analyses uploaded files off the request path.

Delivery is at least once. A message for a file that is no longer `pending` (already done, or
deleted) is acknowledged without doing anything, and every update applies only to a pending
file, so a redelivered message neither redoes finished work nor counts anything twice.

Per message: success -> ack; a transient error (AI 5xx, timeouts, D1 busy) -> retry with
exponential backoff; a permanent one (unreadable input, object gone) -> ack and record `failed`.
After max_retries the queue moves the message to the dead-letter queue, whose consumer records
the file as `failed` with the last error. All D1 writes of a batch go in one DB.batch.

A text file's chunk embeddings go to Vectorize (services/vectors.py) before the batch's D1 write,
and its chunks' text to D1 with it (for keyword search). A file deleted while it was analysed may
leave vectors behind; the reconciler deletes the vectors of deleted files again after the grace
period, and search only returns live files in any case.

Each file's AI calls are charged to its owner's daily budget first (keyed by the file, so a
redelivery is not charged twice). A file over the budget is stored and completed without
analysis: its `ai_analysis` says `skipped` and why, rather than the upload failing.

The consumer writes nothing to the metadata cache: only finished rows are cached (by the first
read after they finish), so there is no pending entry to refresh, and no second KV write to a
key within the second the platform allows one.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from edgefiles.api.files import public_view
from edgefiles.domain.clock import now_iso
from edgefiles.domain.processing import describe_error, is_permanent, retry_delay
from edgefiles.services import ai_budget
from edgefiles.services.analysis import Analyser, ai_calls
from edgefiles.services.container import Services
from edgefiles.services.database import Database
from edgefiles.services.jobs import FILE_UPLOADED
from edgefiles.services.metadata import FileRecords
from edgefiles.services.stats import UserStatsClient
from edgefiles.services.vectors import ChunkVectors

logger = logging.getLogger(__name__)


@dataclass
class BatchWork:
    """What one batch will write (in one transaction) and then acknowledge or retry."""

    statements: list[Any] = field(default_factory=list)
    acks: list[Any] = field(default_factory=list)
    retries: list[tuple[Any, int]] = field(default_factory=list)
    # Files whose new status to publish to their owner once the batch is written: (user, view).
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class FileProcessor:
    def __init__(self, env: Any, dead_letter_queue: str) -> None:
        self.env = env
        self.dead_letter_queue = dead_letter_queue
        self.records = FileRecords(Database(env.DB))
        self.analyser = Analyser(env)
        self.vectors = ChunkVectors(env.VECTORS)
        self.stats = UserStatsClient(env.USER_STATS)
        self.services = Services(env)
        self.retry_base = int(getattr(env, "RETRY_BASE_SECONDS", "10"))

    async def process_batch(self, batch: Any) -> None:
        work = BatchWork()
        dead_letters = batch.queue == self.dead_letter_queue
        jobs = []
        for message in batch.messages:
            body = message.body
            if not isinstance(body, dict) or body.get("type") != FILE_UPLOADED:
                logger.warning("dropping message %s: not a %s job", message.id, FILE_UPLOADED)
                work.acks.append(message)
            else:
                jobs.append((message, body))
        if dead_letters:
            await asyncio.gather(*(self._dead_letter(message, body, work) for message, body in jobs))
        else:
            # The files first, then each owner's AI budget once for all their files in the batch
            # (one call to their object, not one per file), then the analyses, which overlap.
            files = await asyncio.gather(*(self.records.get_held(b["user_id"], b["file_id"]) for _, b in jobs))
            pending = []
            for (message, _), file in zip(jobs, files, strict=True):
                if file is None or file["status"] != "pending":
                    work.acks.append(message)  # deleted, or finished by an earlier delivery
                else:
                    pending.append((message, file))
            allowed = await self._charge_budgets([file for _, file in pending])
            await asyncio.gather(
                *(self._process(message, file, file["id"] in allowed, work) for message, file in pending)
            )
        try:
            await Database(self.env.DB).batch(work.statements)
        except Exception:
            logger.exception("writing the results of a batch of %d failed; retrying it", len(batch.messages))
            batch.retryAll(delaySeconds=retry_delay(1, self.retry_base))
            return
        for message in work.acks:
            message.ack()
        for message, delay in work.retries:
            message.retry(delaySeconds=delay)
        await self._publish(work.updates)

    async def _charge_budgets(self, files: list[dict[str, Any]]) -> set[str]:
        """The ids of the files whose AI calls today's budgets allow (and are now charged): one
        call per owner. A file that needs no AI call is always allowed."""
        owners: dict[str, list[dict[str, Any]]] = {}
        for file in files:
            if ai_calls(file):
                owners.setdefault(file["user_id"], []).append(file)
        allowed = {file["id"] for file in files if not ai_calls(file)}
        granted = await asyncio.gather(
            *(ai_budget.charge_files(self.services, user_id, owned) for user_id, owned in owners.items())
        )
        for ids in granted:
            allowed |= ids
        return allowed

    async def _publish(self, updates: list[tuple[str, dict[str, Any]]]) -> None:
        """One RPC per owner to their object (file.updated for each of their finished files). The
        work is already written and acknowledged: a failed notification is logged and changes
        nothing."""
        by_owner: dict[str, list[dict[str, Any]]] = {}
        for user_id, view in updates:
            by_owner.setdefault(user_id, []).append(view)
        results = await asyncio.gather(
            *(self.stats.files_updated(user_id, views) for user_id, views in by_owner.items()), return_exceptions=True
        )
        for (user_id, views), result in zip(by_owner.items(), results, strict=True):
            if isinstance(result, BaseException):
                logger.warning("publishing %d new status(es) to %s failed (%s)", len(views), user_id, result)

    async def _process(self, message: Any, file: dict[str, Any], budget_allows: bool, work: BatchWork) -> None:
        if not budget_allows:
            analysis = {"kind": "none", "skipped": "the owner's daily budget of AI calls was used up"}
            logger.info("file %s stored without analysis: its owner's AI budget is used up", file["id"])
            work.statements += self.records.completed(file, analysis, None, [], now_iso())
            work.acks.append(message)
            work.updates.append((file["user_id"], _view(file, "completed", analysis)))
            return
        try:
            result = await self.analyser.analyse(file)
            if result.chunks:
                # The count first (so a delete, or the reconciler after it, knows which vectors to
                # remove), then the vectors, both before the D1 write that completes the file: a
                # failure here retries the message, which upserts the same ids again.
                if not await self.records.vectors_written(file["id"], len(result.chunks)):
                    work.acks.append(message)  # deleted while it was analysed: nothing to index
                    return
                embeddings = [(index, vector) for index, _, vector in result.chunks]
                await self.vectors.upsert(file["user_id"], file["id"], embeddings)
        except Exception as error:
            reason = describe_error(error)
            if is_permanent(error):
                detail = getattr(error, "operator_message", reason)  # a refused model: which, and what to set
                logger.warning("file %s cannot be processed: %s", file["id"], detail)
                work.statements.append(self.records.failed(file["id"], reason, now_iso()))
                work.acks.append(message)
                work.updates.append((file["user_id"], _view(file, "failed", {"error": reason})))
            else:
                delay = retry_delay(message.attempts, self.retry_base)
                logger.warning(
                    "file %s attempt %s failed (%s); retrying in %ss", file["id"], message.attempts, reason, delay
                )
                work.statements.append(self.records.attempt_failed(file["id"], reason, now_iso()))
                work.retries.append((message, delay))
            return
        chunks = [(index, text) for index, text, _ in result.chunks]
        work.statements += self.records.completed(file, result.analysis, result.description, chunks, now_iso())
        work.acks.append(message)
        described = {**file, "description": file.get("description") or result.description}
        work.updates.append((file["user_id"], _view(described, "completed", result.analysis)))

    async def _dead_letter(self, message: Any, body: dict[str, Any], work: BatchWork) -> None:
        last_error = await self.records.last_error(body["file_id"]) or "processing failed"
        reason = f"gave up after repeated failures: {last_error}"
        logger.error("file %s moved to the dead-letter queue: %s", body["file_id"], last_error)
        work.statements.append(self.records.failed(body["file_id"], reason, now_iso()))
        work.acks.append(message)
        file = await self.records.get_held(body["user_id"], body["file_id"])
        if file is not None:
            work.updates.append((body["user_id"], _view(file, "failed", {"error": reason})))


def _view(file: dict[str, Any], status: str, analysis: dict[str, Any]) -> dict[str, Any]:
    """The file as its owner will see it once the batch is written."""
    return public_view({**file, "status": status, "ai_analysis": analysis, "updated_at": now_iso()}, detail=True)

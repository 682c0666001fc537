"""The queue consumer: analyses uploaded files off the request path.

Delivery is at least once, so a message for a file that is no longer `pending` is acknowledged
without doing the work again.
"""

import logging
from datetime import UTC, datetime
from typing import Any

from edgefiles.domain.files import cache_key
from edgefiles.services.ai import Summarizer
from edgefiles.services.cache import MetadataCache
from edgefiles.services.jobs import FILE_UPLOADED
from edgefiles.services.metadata import FileRecords
from edgefiles.services.storage import FileStorage

logger = logging.getLogger(__name__)

TEXT_TYPES = {"text/plain", "text/markdown", "text/csv", "application/json"}
SUMMARY_INPUT_LIMIT = 16 * 1024
RETRY_DELAYS = (5, 30, 120, 600)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


async def analyse(env: Any, file: dict[str, Any]) -> dict[str, Any]:
    if file["content_type"] not in TEXT_TYPES:
        return {"kind": "none"}
    text = await FileStorage(env.STORAGE).read_text(file["r2_key"], SUMMARY_INPUT_LIMIT)
    if text is None:
        raise LookupError("the stored object is gone")
    return {"kind": "text", "summary": await Summarizer(env.AI).summarize(text)}


async def process_file_uploaded(env: Any, body: dict[str, Any]) -> None:
    records = FileRecords(env.DB)
    file = await records.get(body["user_id"], body["file_id"])
    if file is None or file["status"] != "pending":
        return
    try:
        analysis = await analyse(env, file)
        status = "completed"
    except LookupError as error:
        analysis, status = {"error": str(error)}, "failed"
    await records.finish(file["id"], status=status, analysis=analysis, now=_now())
    refreshed = await records.get(file["user_id"], file["id"])
    if refreshed is not None:
        await MetadataCache(env.CACHE, int(env.CACHE_TTL_SECONDS)).put(
            cache_key(file["user_id"], file["id"]), refreshed
        )


async def process_dead_letter(env: Any, body: dict[str, Any]) -> None:
    await FileRecords(env.DB).finish(
        body["file_id"], status="failed", analysis={"error": "processing failed after all retries"}, now=_now()
    )


async def process_batch(batch: Any, env: Any, dead_letter_queue: str) -> None:
    for message in batch.messages:
        body = message.body
        if body.get("type") != FILE_UPLOADED:
            logger.warning("dropping message %s of unknown type %r", message.id, body.get("type"))
            message.ack()
            continue
        try:
            if batch.queue == dead_letter_queue:
                await process_dead_letter(env, body)
            else:
                await process_file_uploaded(env, body)
            message.ack()
        except Exception:
            delay = RETRY_DELAYS[min(message.attempts - 1, len(RETRY_DELAYS) - 1)]
            logger.exception("message %s failed on attempt %s; retrying in %ss", message.id, message.attempts, delay)
            message.retry(delaySeconds=delay)

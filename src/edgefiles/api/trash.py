"""/api/trash: files their owner deleted, kept (and counted against the quota) for
TRASH_RETENTION_DAYS: listed, restored, or deleted for good — one at a time or the whole trash.
The reconciler purges what outlives the retention (services/reconciler.py, step `trash`).

Deleting for good: the row is marked deleted first (its text goes in the same transaction), so
the file is gone for every reader from then on; the object, vectors, stats count and cached
image analysis follow, and what fails of those the reconciler repairs (it deletes the object and
vectors of every deleted row again, then the row; it re-derives stats that disagree with D1)."""

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.files import public_view
from edgefiles.api.paging import page_of, page_request
from edgefiles.api.responses import empty_response, json_response
from edgefiles.domain.clock import iso, now_iso
from edgefiles.domain.files import image_cache_key
from edgefiles.domain.problems import Problem
from edgefiles.services.metadata import FileAudit

logger = logging.getLogger(__name__)

# Files one "empty trash" request deletes: a handful of binding calls whatever the number
# (one D1 batch, one R2 delete, one Vectorize delete, one UserStats call), plus one KV delete
# per image among them. The client repeats while `more` is true.
EMPTY_BATCH = 40


def _not_in_trash() -> Problem:
    return Problem(404, "No such file in the trash")


def _trash_view(ctx: RequestContext, row: dict[str, Any]) -> dict[str, Any]:
    trashed = datetime.fromisoformat(row["trashed_at"].replace("Z", "+00:00"))
    retention = timedelta(days=ctx.services.settings.trash_retention_days)
    return {**public_view(row), "trashed_at": row["trashed_at"], "purge_after": iso(trashed + retention)}


async def list_trash(ctx: RequestContext) -> Response:
    limit, after = page_request(ctx)
    rows = await ctx.services.records.trash_page(ctx.user_id, limit + 1, after)
    return json_response(page_of(rows, limit, "trashed_at", lambda row: _trash_view(ctx, row)))


async def restore(ctx: RequestContext, file_id: str) -> Response:
    row = await ctx.services.records.restore(ctx.user_id, file_id, now_iso())
    if row is None:
        raise _not_in_trash()
    view = public_view(row, detail=True)
    try:
        await ctx.services.stats.file_restored(ctx.user_id, view)
    except Exception as error:
        logger.warning("restore of %s: event not published (%s)", file_id, error)
    return json_response(view)


async def _settle(steps: dict[str, Any], what: str) -> None:
    results = await asyncio.gather(*steps.values(), return_exceptions=True)
    for step, result in zip(steps, results, strict=True):
        if isinstance(result, BaseException):
            logger.warning("%s: %s failed (%s); left to the reconciler or expiry", what, step, result)


async def delete_for_good(ctx: RequestContext, file_id: str) -> Response:
    deleted = await ctx.services.records.mark_deleted(ctx.user_id, file_id, now_iso(), trashed=True)
    if deleted is None:
        raise _not_in_trash()
    steps = {
        "object delete": ctx.services.storage.delete(deleted.r2_key),
        "stats update": ctx.services.stats.record_delete(ctx.user_id, file_id),
        "vector delete": ctx.services.vectors.delete_files([(file_id, deleted.chunk_count)]),
    }
    if deleted.image_sha256:
        steps["image analysis delete"] = ctx.services.cache.delete(image_cache_key(ctx.user_id, deleted.image_sha256))
    await _settle(steps, f"delete of {file_id}")
    return empty_response(204)


async def empty_trash(ctx: RequestContext) -> Response:
    rows = await ctx.services.records.trash_page(ctx.user_id, EMPTY_BATCH + 1, None)
    batch, more = rows[:EMPTY_BATCH], len(rows) > EMPTY_BATCH
    if not batch:
        return json_response({"deleted": 0, "more": False})
    marked = set(await FileAudit(ctx.services.database).mark_trash_deleted([row["id"] for row in batch], now_iso()))
    gone = [row for row in batch if row["id"] in marked]
    steps: dict[str, Any] = {
        "object delete": ctx.services.storage.delete_many([row["r2_key"] for row in gone]),
        "stats update": ctx.services.stats.record_deletes(ctx.user_id, [row["id"] for row in gone]),
        "vector delete": ctx.services.vectors.delete_files([(row["id"], row["chunk_count"]) for row in gone]),
    }
    for row in gone:
        digest = (row.get("ai_analysis") or {}).get("sha256")
        if isinstance(digest, str):
            steps[f"image analysis delete {row['id']}"] = ctx.services.cache.delete(
                image_cache_key(ctx.user_id, digest)
            )
    if gone:
        await _settle(steps, "empty trash")
    return json_response({"deleted": len(gone), "more": more})

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
from edgefiles.api.folders import folder_view
from edgefiles.api.paging import page_of, page_request
from edgefiles.api.responses import empty_response, json_response
from edgefiles.domain import paths
from edgefiles.domain.clock import iso, now_iso
from edgefiles.domain.files import image_cache_key
from edgefiles.domain.problems import Problem
from edgefiles.services.folders import NameTaken, NoSuchFolder
from edgefiles.services.metadata import FileAudit

logger = logging.getLogger(__name__)

# A name taken while the entry was in the trash: its own, then numbered, then with its id.
RESTORE_ATTEMPTS = 3

# Files one "empty trash" request deletes: a handful of binding calls whatever the number
# (one D1 batch, one R2 delete, one Vectorize delete, one UserStats call), plus one KV delete
# per image among them. The client repeats while `more` is true.
EMPTY_BATCH = 40


def _not_in_trash() -> Problem:
    return Problem(404, "No such file in the trash")


def _in_trash(ctx: RequestContext, view: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A file's or folder's view with when it was trashed and when the reconciler purges it."""
    trashed = datetime.fromisoformat(row["trashed_at"].replace("Z", "+00:00"))
    retention = timedelta(days=ctx.services.settings.trash_retention_days)
    return {**view, "trashed_at": row["trashed_at"], "purge_after": iso(trashed + retention)}


async def list_trash(ctx: RequestContext) -> Response:
    limit, after = page_request(ctx)
    rows = await ctx.services.records.trash_page(ctx.user_id, limit + 1, after)
    return json_response(page_of(rows, limit, "trashed_at", lambda row: _in_trash(ctx, public_view(row), row)))


async def _restored_name(ctx: RequestContext, attempt: int, folder_id: str, name: str, entry_id: str) -> str:
    """The name a restored entry takes: its own, then (taken meanwhile) numbered, then with its id."""
    if attempt == 0:
        return name
    return await ctx.services.folders.retry_name(ctx.user_id, folder_id, name, entry_id, attempt)


async def restore(ctx: RequestContext, file_id: str) -> Response:
    """Back into its folder (the root if that is gone), under a numbered name if its own was
    taken while it was in the trash."""
    trashed = await ctx.services.records.get_trashed(ctx.user_id, file_id)
    if trashed is None:
        raise _not_in_trash()
    row = None
    for attempt in range(RESTORE_ATTEMPTS):
        name = await _restored_name(ctx, attempt, trashed["folder_id"], trashed["filename"], file_id)
        try:
            row = await ctx.services.records.restore(ctx.user_id, file_id, now_iso(), name)
            break
        except NameTaken:
            continue
    else:
        raise Problem(409, "The file's name is taken in its folder; try again")
    if row is None:
        raise _not_in_trash()
    view = public_view(row, detail=True)
    try:
        await ctx.services.stats.file_restored(ctx.user_id, view)
    except Exception as error:
        logger.warning("restore of %s: event not published (%s)", file_id, error)
    return json_response(view)


async def list_trashed_folders(ctx: RequestContext) -> Response:
    """The folders the user deleted (each with everything its deletion took)."""
    limit, after = page_request(ctx)
    rows = await ctx.services.folders.trash_page(ctx.user_id, limit + 1, after)
    return json_response(page_of(rows, limit, "trashed_at", lambda row: _in_trash(ctx, folder_view(row), row)))


async def _restore_parent(ctx: RequestContext, trashed: dict[str, Any]) -> str:
    """Where a restored folder goes: back into its parent when that is live and the tree fits
    there within paths.MAX_DEPTH (it may have moved deeper meanwhile), else into the root."""
    if not trashed["parent_id"]:
        return paths.ROOT
    ancestry = await ctx.services.folders.ancestry(ctx.user_id, trashed["parent_id"])
    if ancestry is None:
        return paths.ROOT
    height = await ctx.services.folders.height(ctx.user_id, trashed["id"], trashed=True)
    return trashed["parent_id"] if len(ancestry) + 1 + height <= paths.MAX_DEPTH else paths.ROOT


async def restore_folder(ctx: RequestContext, folder_id: str) -> Response:
    """Everything the folder's deletion took comes back, into its old parent (the root if that
    is gone), the folder under a numbered name if its own was taken meanwhile."""
    trashed = await ctx.services.folders.trashed(ctx.user_id, folder_id)
    if trashed is None:
        raise Problem(404, "No such folder in the trash")
    parent = await _restore_parent(ctx, trashed)
    for attempt in range(RESTORE_ATTEMPTS):
        name = await _restored_name(ctx, attempt, parent, trashed["name"], folder_id)
        try:
            restored = await ctx.services.folders.restore(
                ctx.user_id, folder_id, name=name, parent_id=parent, now=now_iso()
            )
            break
        except NameTaken:
            continue
        except NoSuchFolder:
            parent = paths.ROOT  # its parent left meanwhile: the root, as if it had gone before
            continue
    else:
        raise Problem(409, "The folder's name is taken where it goes back; try again")
    if not restored:
        raise Problem(404, "No such folder in the trash")
    row = await ctx.services.folders.get(ctx.user_id, folder_id)
    if row is None:
        raise Problem(409, "The folder was deleted again while it was being restored")
    return json_response(folder_view(row))


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


async def _drop_trashed_folders(ctx: RequestContext) -> None:
    try:
        await ctx.services.folders.drop_trashed(ctx.user_id)
    except Exception as error:
        logger.warning("empty trash: dropping folders failed (%s); the reconciler drops them", error)


async def empty_trash(ctx: RequestContext) -> Response:
    rows = await ctx.services.records.trash_page(ctx.user_id, EMPTY_BATCH + 1, None, with_folders=True)
    batch, more = rows[:EMPTY_BATCH], len(rows) > EMPTY_BATCH
    if not more:
        # The folders go once none of their files is stored (this batch is marked below; a
        # folder still holding one is dropped by the next call or by the reconciler).
        ctx.after_response(_drop_trashed_folders(ctx))
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

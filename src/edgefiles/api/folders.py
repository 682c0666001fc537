"""/api/folders: a user's folder tree. Create, read (with the path to it, for breadcrumbs), list
a folder's entries (folders first, then files, by name, in keyset pages), rename and move (rows
only: R2 keys, links and everything else follow the ids), and delete (the whole subtree to the
trash, in one D1 transaction; restored from /api/trash/folders). The root is "root"."""

import asyncio
import logging
import uuid
from typing import Any

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.files import public_view
from edgefiles.api.paging import page_request
from edgefiles.api.responses import empty_response, json_response
from edgefiles.domain import paths, tree_requests, validation
from edgefiles.domain.clock import now_iso
from edgefiles.domain.cursors import encode_cursor
from edgefiles.domain.files import cache_key
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.services.folders import NameTaken, NoSuchFolder

logger = logging.getLogger(__name__)

# Cached metadata of files a folder's deletion took, deleted after the response; the rest (a
# larger folder's) expires with the cache's TTL. Reads of content, links and lists go to D1.
FORGET_CACHED = 50
_FOLDER_KIND, _FILE_KIND = "0", "1"


def folder_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "parent_id": tree_requests.api_folder_id(row["parent_id"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "links": {"self": f"/api/folders/{row['id']}", "entries": f"/api/folders/{row['id']}/entries"},
    }


def name_taken(name: str) -> Problem:
    return Problem(409, f"'{name}' is already taken in that folder")


def no_such_folder(field: str = "parent_id") -> Problem:
    return Problem(409, f"'{field}' is not one of your folders (it may have been deleted)")


def _folder_id(raw: str) -> str:
    if raw == "root":
        return paths.ROOT
    try:
        return tree_requests.folder_id(raw)
    except Problem:
        raise _not_found() from None


def _not_found() -> Problem:
    return Problem(404, "No such folder")


async def _live(ctx: RequestContext, folder_id: str) -> dict[str, Any]:
    row = await ctx.services.folders.get(ctx.user_id, folder_id)
    if row is None:
        raise _not_found()
    return row


async def check_depth(ctx: RequestContext, parent_id: str, levels: int, field: str = "parent_id") -> None:
    """409 unless `levels` more levels fit below `parent_id` within paths.MAX_DEPTH."""
    ancestry = await ctx.services.folders.ancestry(ctx.user_id, parent_id)
    if ancestry is None:
        raise no_such_folder(field)
    if len(ancestry) + levels > paths.MAX_DEPTH:
        raise Problem(409, f"Folders nest at most {paths.MAX_DEPTH} deep")


async def create_folder(ctx: RequestContext) -> Response:
    spec = tree_requests.new_folder(validation.parse_json_object(await ctx.json_body()))
    await check_depth(ctx, spec.parent_id, 1)
    row = {"id": str(uuid.uuid4()), "parent_id": spec.parent_id, "name": spec.name, "created_at": now_iso()}
    row["updated_at"] = row["created_at"]
    try:
        await ctx.services.folders.create(ctx.user_id, row)
    except NameTaken:
        raise name_taken(spec.name) from None
    except NoSuchFolder:
        raise no_such_folder() from None
    return json_response(folder_view(row), 201, {"location": f"/api/folders/{row['id']}"})


async def get_folder(ctx: RequestContext, folder_id: str) -> Response:
    stored = _folder_id(folder_id)
    if stored == paths.ROOT:
        return json_response({"id": "root", "name": "", "parent_id": None, "path": [], "links": _root_links()})
    ancestry = await ctx.services.folders.ancestry(ctx.user_id, stored)
    if ancestry is None:
        raise _not_found()
    row = await _live(ctx, stored)
    return json_response({**folder_view(row), "path": ancestry})


def _root_links() -> dict[str, str]:
    return {"self": "/api/folders/root", "entries": "/api/folders/root/entries"}


async def list_entries(ctx: RequestContext, folder_id: str) -> Response:
    """Folders first, then files, each by name (then id); the cursor names the last entry's
    kind and name, so a page may end among the folders and the next start among the files."""
    stored = _folder_id(folder_id)
    if stored != paths.ROOT:
        await _live(ctx, stored)
    limit, after = page_request(ctx)
    kind, name = (after[0][:1], after[0][2:]) if after else (_FOLDER_KIND, None)
    if kind not in (_FOLDER_KIND, _FILE_KIND):
        raise Problem(400, "cursor is not one this API issued")
    entries: list[tuple[str, dict[str, Any]]] = []
    if kind == _FOLDER_KIND:
        folders = await ctx.services.folders.folder_page(
            ctx.user_id, stored, (name, after[1]) if after else None, limit + 1
        )
        entries += [(_FOLDER_KIND, row) for row in folders]
    if len(entries) <= limit:
        files_after = (name, after[1]) if after and kind == _FILE_KIND else None
        files = await ctx.services.records.folder_files(ctx.user_id, stored, files_after, limit + 1 - len(entries))
        entries += [(_FILE_KIND, row) for row in files]
    page, more = entries[:limit], len(entries) > limit
    items = [
        {"kind": "folder", **folder_view(row)} if entry_kind == _FOLDER_KIND else {"kind": "file", **public_view(row)}
        for entry_kind, row in page
    ]
    next_cursor = None
    if more:
        last_kind, last = page[-1]
        last_name = last["name"] if last_kind == _FOLDER_KIND else last["filename"]
        next_cursor = encode_cursor(f"{last_kind}:{last_name}", last["id"])
    return json_response({"items": items, "next_cursor": next_cursor})


async def update_folder(ctx: RequestContext, folder_id: str) -> Response:
    stored = _folder_id(folder_id)
    if stored == paths.ROOT:
        raise Problem(400, "The root cannot be renamed or moved")
    row = await _live(ctx, stored)  # first: someone else's folder looks missing, whatever the body
    change = tree_requests.change(
        validation.parse_json_object(await ctx.json_body()), name_field="name", parent_field="parent_id"
    )
    name = change.name if change.name is not None else row["name"]
    parent = change.parent_id if change.parent_id is not None else row["parent_id"]
    if parent != row["parent_id"]:
        await check_depth(ctx, parent, 1 + await ctx.services.folders.height(ctx.user_id, stored))
    try:
        moved = await ctx.services.folders.update(ctx.user_id, stored, name=name, parent_id=parent, now=now_iso())
    except NameTaken:
        raise name_taken(name) from None
    except NoSuchFolder:
        raise no_such_folder() from None
    if not moved:
        raise Problem(
            409, f"A folder cannot move into itself or a folder inside it, nor nest deeper than {paths.MAX_DEPTH}"
        )
    return json_response(folder_view(await _live(ctx, stored)))


async def delete_folder(ctx: RequestContext, folder_id: str) -> Response:
    """The folder, its folders and their files go to the trash in one transaction; the files
    keep counting against the quota there until they are purged (api/trash.py)."""
    stored = _folder_id(folder_id)
    if stored == paths.ROOT:
        raise Problem(400, "The root cannot be deleted")
    try:
        trashed = await ctx.services.folders.trash(ctx.user_id, stored, now_iso())
    except Exception:
        logger.exception("deleting folder %s failed", stored)
        raise unavailable("The metadata store") from None
    if not trashed:
        raise _not_found()
    ctx.after_response(_forget_cached(ctx, stored))
    return empty_response(204)


async def _forget_cached(ctx: RequestContext, folder_id: str) -> None:
    try:
        file_ids = await ctx.services.folders.trashed_file_ids(ctx.user_id, folder_id, FORGET_CACHED)
        results = await asyncio.gather(
            *(ctx.services.cache.delete(cache_key(ctx.user_id, file_id)) for file_id in file_ids),
            return_exceptions=True,
        )
    except Exception as error:
        logger.warning("forgetting cached files of folder %s failed (%s)", folder_id, error)
        return
    failed = sum(isinstance(result, BaseException) for result in results)
    if failed:
        logger.warning("folder %s: %d cached file(s) not forgotten; they expire on their own", folder_id, failed)

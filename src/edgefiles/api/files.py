"""/api/files: upload (form or raw body), metadata, content, listing, moving to the trash."""

import asyncio
import logging
import time
import uuid
from functools import partial
from typing import Any
from urllib.parse import unquote

from workers import Response

from edgefiles.api.checked_bodies import checked_body, content_mismatch
from edgefiles.api.context import RequestContext
from edgefiles.api.downloads import serve_file
from edgefiles.api.paging import page_of, page_request
from edgefiles.api.responses import empty_response, json_response
from edgefiles.domain import tree_requests, validation
from edgefiles.domain.clock import now_iso
from edgefiles.domain.files import FINISHED_STATUSES, cache_key, object_key, parse_content_length
from edgefiles.domain.models import ModelUnavailable
from edgefiles.domain.numbers import is_decimal
from edgefiles.domain.problems import Problem, not_found, unavailable
from edgefiles.domain.sniff import SNIFF_BYTES, TEXT_TYPES, matches_content
from edgefiles.services import quota
from edgefiles.services.ai_budget import charge_request
from edgefiles.services.folders import NameTaken, NoSuchFolder
from edgefiles.services.ingest import register_file
from edgefiles.services.streams import discard, head_of_blob, settle

logger = logging.getLogger(__name__)

INLINE_CONTENT_LIMIT = 64 * 1024
SUMMARY_INPUT_CHARS = 16 * 1024
# A multipart/form-data body is larger than the file it carries by its part headers.
FORM_OVERHEAD = 64 * 1024
_PUBLIC_FIELDS = (
    "id",
    "filename",
    "content_type",
    "size_bytes",
    "sha256",
    "status",
    "description",
    "created_at",
    "file_request_id",
)


def links(file_id: str) -> dict[str, str]:
    return {"self": f"/api/files/{file_id}", "content": f"/api/files/{file_id}/content"}


def public_view(row: dict[str, Any], *, detail: bool = False) -> dict[str, Any]:
    view = {name: row.get(name) for name in _PUBLIC_FIELDS}
    if detail:
        view["ai_analysis"] = row.get("ai_analysis")
        view["updated_at"] = row.get("updated_at")
    view["folder_id"] = tree_requests.api_folder_id(row.get("folder_id") or "")
    view["links"] = links(row["id"])
    return view


def new_row(owner: str, *, filename: str, content_type: str, size: int, **extra: Any) -> dict[str, Any]:
    file_id, now = str(uuid.uuid4()), now_iso()
    return {
        "id": file_id,
        "user_id": owner,
        "filename": filename,
        "r2_key": object_key(owner, file_id, now),
        "content_type": content_type,
        "size_bytes": size,
        "status": "pending",
        "created_at": now,
        "updated_at": now,
        "sha256": extra.get("sha256"),
        "description": extra.get("description"),
        "file_request_id": extra.get("file_request_id"),
        "folder_id": extra.get("folder_id") or "",
    }


async def _store_object(ctx: RequestContext, row: dict[str, Any], body: Any) -> None:
    try:
        await ctx.services.storage.put(
            row["r2_key"],
            body,
            content_type=row["content_type"],
            filename=row["filename"],
            user_id=row["user_id"],
            sha256=row.get("sha256"),
        )
    except Exception as error:
        if "checksum" in str(error).lower() or "sha-256" in str(error).lower():
            raise Problem(400, "The body does not match X-Checksum-SHA256") from None
        logger.exception("R2 put failed for %s", row["r2_key"])
        raise unavailable("Storage") from None


async def created(ctx: RequestContext, row: dict[str, Any]) -> Response:
    return json_response(public_view(row), 201, {"location": links(row["id"])["self"]})


def declared_size(ctx: RequestContext, limit: int) -> int:
    """The Content-Length of a raw upload: 411 without one, 413 over `limit`."""
    try:
        return parse_content_length(ctx.header("content-length"), limit)
    except LookupError as error:
        raise Problem(411, str(error)) from None
    except OverflowError as error:
        raise Problem(413, str(error)) from None
    except ValueError as error:
        raise Problem(400, str(error)) from None


async def store_raw_upload(ctx: RequestContext, row: dict[str, Any], *, request_max_files: int | None = None) -> None:
    """Reserves the quota of the row's owner, streams the request body into R2 (checked against
    its declared type and length on the way), and registers the file. Nothing stays behind on
    failure: the reservation is released and an object already written deleted."""
    reserve = partial(
        quota.reserve,
        ctx.services,
        row["user_id"],
        reservation_id=row["id"],
        file_id=row["id"],
        size=row["size_bytes"],
        file_request_id=row.get("file_request_id"),
        request_max_files=request_max_files,
    )
    await reserve()
    started = time.monotonic()
    stored = False
    try:
        await _stream_body(ctx, row)
        stored = True
        if time.monotonic() - started > quota.RENEW_AFTER_SECONDS:
            await reserve()  # renewed, or checked anew if its lease ran out meanwhile
    except BaseException:
        await quota.release(ctx.services, row["user_id"], row["id"], row["size_bytes"])
        if stored:
            await _delete_quietly(ctx, row["r2_key"])
        raise
    await register_file(ctx.services, row, public_view(row), reservation_id=row["id"])


async def _delete_quietly(ctx: RequestContext, key: str) -> None:
    try:
        await ctx.services.storage.delete(key)
    except Exception:
        # No row points at it: the reconciler's orphan step deletes it once its hour is over.
        logger.exception("could not delete refused object %s", key)


async def _stream_body(ctx: RequestContext, row: dict[str, Any]) -> None:
    if row["size_bytes"] == 0:
        if not matches_content(row["content_type"], b""):
            raise content_mismatch(row["content_type"])
        await _store_object(ctx, row, b"")
        return
    body, feed = await checked_body(ctx.request.body, row["content_type"], row["size_bytes"])
    try:
        await _store_object(ctx, row, body)
    except BaseException:
        await discard(body, feed)
        raise
    await settle(feed)


async def upload_raw(ctx: RequestContext, filename: str) -> Response:
    await ctx.services.rate_limits.check("upload", ctx.user_id)
    settings = ctx.services.settings
    name = validation.filename(unquote(filename))
    size = declared_size(ctx, settings.max_file_size)
    content_type = validation.content_type(ctx.header("content-type"), settings.allowed_types)
    description = validation.description(unquote(ctx.header("x-description") or "") or None)
    sha256 = validation.sha256_hex(ctx.header("x-checksum-sha256"))
    folder_id = await live_folder(ctx, ctx.query.get("folder_id"))
    row = new_row(
        ctx.user_id,
        filename=name,
        content_type=content_type,
        size=size,
        description=description,
        sha256=sha256,
        folder_id=folder_id,
    )
    await store_raw_upload(ctx, row)
    return await created(ctx, row)


def _form_value(form: Any, name: str) -> Any:
    """A form field, or None. The SDK's FormData.get() answers JS null for a missing field."""
    return form[name] if name in form else None  # noqa: SIM401 - .get() is the call that returns JS null


def _form_too_large(settings: Any, what: str) -> Problem:
    return Problem(
        413,
        f"{what}; form uploads are limited to {settings.max_form_file_size} bytes."
        f" Send larger files (up to {settings.max_file_size} bytes) with PUT /api/files/{{filename}}",
    )


async def upload_form(ctx: RequestContext) -> Response:
    await ctx.services.rate_limits.check("upload", ctx.user_id)
    settings = ctx.services.settings
    declared = ctx.header("content-length")
    if declared is None:
        raise Problem(411, "Content-Length is required")
    if not is_decimal(declared):
        raise Problem(400, "Content-Length must be a non-negative integer")
    # Checked before parsing: request.formData() holds the whole body (and, while it parses, a
    # copy of each part) in the isolate's 128 MB. Larger files go as a raw PUT, which streams.
    if int(declared) > settings.max_form_file_size + FORM_OVERHEAD:
        raise _form_too_large(settings, f"the form is {declared} bytes")
    if not (ctx.header("content-type") or "").lower().startswith("multipart/form-data"):
        raise Problem(415, "POST /api/files takes multipart/form-data; use PUT /api/files/{filename} for raw bodies")
    try:
        form = await ctx.request.form_data()
    except Exception:
        raise Problem(400, "The multipart/form-data body could not be parsed") from None
    file = _form_value(form, "file")
    if file is None or isinstance(file, str):
        raise Problem(400, "'file' must be a file part")
    raw_description = _form_value(form, "description")
    if raw_description is not None and not isinstance(raw_description, str):
        raise Problem(400, "'description' must be a text part")
    raw_folder = _form_value(form, "folder_id")
    if raw_folder is not None and not isinstance(raw_folder, str):
        raise Problem(400, "'folder_id' must be a text part")
    folder_id = await live_folder(ctx, raw_folder)
    name = validation.filename(file.name)
    if file.size > settings.max_form_file_size:
        raise _form_too_large(settings, f"the file is {file.size} bytes")
    size = validation.size(file.size, settings.max_form_file_size)
    content_type = validation.content_type(file.content_type, settings.allowed_types)
    description = validation.description(raw_description)
    if not matches_content(content_type, await head_of_blob(file, SNIFF_BYTES)):
        raise content_mismatch(content_type)
    row = new_row(
        ctx.user_id, filename=name, content_type=content_type, size=size, description=description, folder_id=folder_id
    )
    await quota.reserve(ctx.services, ctx.user_id, reservation_id=row["id"], file_id=row["id"], size=size)
    try:
        await _store_object(ctx, row, file.js_object)
    except BaseException:
        await quota.release(ctx.services, ctx.user_id, row["id"], size)
        raise
    await register_file(ctx.services, row, public_view(row), reservation_id=row["id"])
    return await created(ctx, row)


async def live_folder(ctx: RequestContext, raw: str | None, field: str = "folder_id") -> str:
    """The stored id of the folder an upload names (the root when it names none): 409 when it
    is not one of the user's live folders. D1 checks again when the row is written."""
    folder_id = tree_requests.folder_id(raw, field)
    if folder_id and await ctx.services.folders.get(ctx.user_id, folder_id) is None:
        raise Problem(409, f"'{field}' is not one of your folders (it may have been deleted)")
    return folder_id


async def update_file(ctx: RequestContext, file_id: str) -> Response:
    """Renames and/or moves a file: its row only (R2 key, links and analysis stay)."""
    row = await _owned(ctx, file_id)  # first: someone else's file looks missing, whatever the body
    change = tree_requests.change(
        validation.parse_json_object(await ctx.json_body()), name_field="filename", parent_field="folder_id"
    )
    name = change.name if change.name is not None else row["filename"]
    folder_id = change.parent_id if change.parent_id is not None else row["folder_id"]
    try:
        moved = await ctx.services.records.move(ctx.user_id, file_id, filename=name, folder_id=folder_id, now=now_iso())
    except NameTaken:
        raise Problem(409, f"'{name}' is already taken in that folder") from None
    except NoSuchFolder:
        raise Problem(409, "'folder_id' is not one of your folders (it may have been deleted)") from None
    if not moved:
        raise not_found()
    key = cache_key(ctx.user_id, file_id)
    try:
        await ctx.services.cache.delete(key)
    except Exception as error:
        logger.warning("rename of %s: cache delete failed (%s)", file_id, error)
    ctx.after_response(forget_again(ctx.services.cache, key))
    return json_response(public_view(await _owned(ctx, file_id), detail=True))


async def _owned(ctx: RequestContext, file_id: str) -> dict[str, Any]:
    row = await ctx.services.records.get(ctx.user_id, file_id)
    if row is None:
        raise not_found()
    return row


async def get_metadata(ctx: RequestContext, file_id: str) -> Response:
    include = ctx.query.get("include")
    if include not in (None, "content"):
        raise Problem(400, "include may only be 'content'")
    key = cache_key(ctx.user_id, file_id)
    row = await ctx.services.cache.get(key)
    # Only finished rows are cached; an older deployment cached pending ones, which are not trusted.
    if row is None or row.get("status") not in FINISHED_STATUSES:
        row = await _owned(ctx, file_id)
        # Only a finished row is cached: it changes no more (until it is deleted), so its key is
        # written once, whereas a pending one would need a second write within seconds.
        if row["status"] in FINISHED_STATUSES:
            try:
                await ctx.services.cache.put(key, row)
            except Exception as error:
                logger.warning("cache fill failed for %s: %s", file_id, error)
    view = public_view(row, detail=True)
    if include == "content":
        if row["content_type"] not in TEXT_TYPES or row["size_bytes"] > INLINE_CONTENT_LIMIT:
            raise Problem(400, f"Only text files up to {INLINE_CONTENT_LIMIT} bytes can be inlined")
        text = await ctx.services.storage.read_text(row["r2_key"], INLINE_CONTENT_LIMIT, row["size_bytes"])
        if text is None:
            raise not_found()
        view["content"] = text
    return json_response(view)


async def get_summary(ctx: RequestContext, file_id: str) -> Response:
    """The file's summary. With ?stream=1 a fresh one is streamed as Server-Sent Events straight
    from the AI binding (Python passes the stream on without reading it)."""
    stream = ctx.query.get("stream")
    if stream not in (None, "0", "1"):
        raise Problem(400, "stream must be 0 or 1")
    row = await _owned(ctx, file_id)
    if row["content_type"] not in TEXT_TYPES:
        raise Problem(400, "Only text files have summaries")
    if stream != "1":
        summary = (row.get("ai_analysis") or {}).get("summary")
        if summary is None:
            raise Problem(404, f"There is no summary yet (the file is {row['status']})")
        return json_response({"id": file_id, "summary": summary})
    if row["size_bytes"] == 0:
        raise Problem(400, "The file is empty: there is nothing to summarise")
    await ctx.services.rate_limits.check("summary", ctx.user_id)
    await charge_request(ctx.services, ctx.user_id, ctx.request_id)
    text = await ctx.services.storage.read_text(row["r2_key"], SUMMARY_INPUT_CHARS, row["size_bytes"])
    if text is None:
        raise not_found()
    try:
        events = await ctx.services.ai.summary_stream(text)
    except ModelUnavailable as error:
        logger.error("summary stream: %s", error.operator_message)  # the client gets a plain 503
        raise Problem(503, "Summaries are unavailable right now; try again later") from None
    return Response(events, headers={"content-type": "text/event-stream", "cache-control": "no-cache"})


async def get_content(ctx: RequestContext, file_id: str) -> Response:
    return await serve_file(ctx, await _owned(ctx, file_id))


async def list_files(ctx: RequestContext) -> Response:
    limit, after = page_request(ctx)
    request_id = ctx.query.get("file_request_id")
    if request_id is not None and not validation.record_id_like(request_id):
        raise Problem(400, "file_request_id is not one this API issued")
    rows = await ctx.services.records.list_page(ctx.user_id, limit + 1, after, request_id)
    return json_response(page_of(rows, limit, "created_at", public_view))


async def delete_file(ctx: RequestContext, file_id: str) -> Response:
    """Moves the file to the trash: from then on it answers 404 here, leaves lists, search and
    share links, and still counts against the quota (its bytes are stored) until it is restored
    or purged (api/trash.py). The cache entry goes so no read serves it as listed; what fails
    here expires on its own (a cache entry's TTL) or only delays an event."""
    trashed = await ctx.services.records.trash(ctx.user_id, file_id, now_iso())
    if trashed is None:
        raise not_found()
    steps = {
        "cache delete": ctx.services.cache.delete(cache_key(ctx.user_id, file_id)),
        "event": ctx.services.stats.file_trashed(ctx.user_id, file_id),
    }
    results = await asyncio.gather(*steps.values(), return_exceptions=True)
    for step, result in zip(steps, results, strict=True):
        if isinstance(result, BaseException):
            logger.warning("trash of %s: %s failed (%s)", file_id, step, result)
    ctx.after_response(forget_again(ctx.services.cache, cache_key(ctx.user_id, file_id)))
    return empty_response(204)


CACHE_WRITE_INTERVAL_SECONDS = 1.1


async def forget_again(cache: Any, key: str) -> None:
    """A read that found the row listed just before it left may fill the cache just after;
    deleting the key again a second later undoes that (KV takes one write per key per second,
    so not sooner), and retries a first delete that KV refused for that reason."""
    await asyncio.sleep(CACHE_WRITE_INTERVAL_SECONDS)
    try:
        await cache.delete(key)
    except Exception as error:
        logger.warning("second cache delete of %s failed (%s); the entry expires on its own", key, error)

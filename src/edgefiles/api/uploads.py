"""/api/uploads: client-driven multipart uploads for files over the request-body limit.

Each request streams one part into R2's multipart API, so memory stays bounded by a part. The
upload's state (owner, plan, parts received) is in D1: a failed part is simply sent again, and
GET /api/uploads/{id} tells a client which parts are still missing.
"""

import logging
import time
import uuid
from typing import Any

from workers import Response

from edgefiles.api.checked_bodies import checked_body
from edgefiles.api.context import RequestContext
from edgefiles.api.files import live_folder, public_view
from edgefiles.api.responses import empty_response, json_response
from edgefiles.domain import multipart, validation
from edgefiles.domain.clock import iso_from_epoch, now_iso
from edgefiles.domain.files import object_key
from edgefiles.domain.numbers import is_decimal
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.services import quota
from edgefiles.services.ingest import register_file
from edgefiles.services.streams import discard, settle

logger = logging.getLogger(__name__)

# The largest multipart upload: 10,000 parts of at most 95 MiB, each one request within the
# edge's 100 MB limit (about 0.9 TB; R2's own object limit, 5 TiB, is further away).
MAX_MULTIPART_FILE_SIZE = multipart.MAX_FILE_SIZE


def _view(upload: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    received = [p["part_number"] for p in parts]
    return {
        "upload_id": upload["id"],
        "filename": upload["filename"],
        "content_type": upload["content_type"],
        "size": upload["size_bytes"],
        "part_size": upload["part_size"],
        "part_count": upload["part_count"],
        "parts_received": received,
        "parts_missing": [n for n in range(1, upload["part_count"] + 1) if n not in set(received)],
    }


async def _open_upload(ctx: RequestContext, upload_id: str) -> dict[str, Any]:
    upload = await ctx.services.uploads.get_open(ctx.user_id, upload_id)
    if upload is None:
        raise Problem(404, "No such upload in progress")
    return upload


async def create_upload(ctx: RequestContext) -> Response:
    """Reserves the file's size of the quota (held while the upload is open), then opens the R2
    multipart upload and records it; the record's write settles the reservation's marker, and
    from then on completing, aborting or the reconciler's abort of an idle upload ends it."""
    await ctx.services.rate_limits.check("upload", ctx.user_id)
    settings = ctx.services.settings
    data = validation.parse_json_object(await ctx.json_body())
    request = validation.new_upload(data, allowed=settings.allowed_types, limit=MAX_MULTIPART_FILE_SIZE)
    folder_id = await live_folder(ctx, data.get("folder_id"))
    if request.size == 0:
        raise Problem(400, "size must be positive; upload empty files with PUT /api/files/{filename}")
    part_size, part_count = multipart.plan(request.size)
    upload_id, file_id = str(uuid.uuid4()), str(uuid.uuid4())
    key = object_key(ctx.user_id, file_id, now_iso())
    await quota.reserve(
        ctx.services,
        ctx.user_id,
        reservation_id=upload_id,
        file_id=file_id,
        size=request.size,
        lease_seconds=quota.MULTIPART_LEASE_SECONDS,
    )
    try:
        r2_upload_id = await ctx.services.storage.create_multipart(
            key, content_type=request.content_type, filename=request.filename, user_id=ctx.user_id
        )
    except Exception:
        logger.exception("R2 createMultipartUpload failed")
        await quota.release(ctx.services, ctx.user_id, upload_id, request.size)
        raise unavailable("Storage") from None
    row = {
        "id": upload_id,
        "user_id": ctx.user_id,
        "file_id": file_id,
        "r2_key": key,
        "r2_upload_id": r2_upload_id,
        "filename": request.filename,
        "content_type": request.content_type,
        "size_bytes": request.size,
        "part_size": part_size,
        "part_count": part_count,
        "description": request.description,
        "folder_id": folder_id,
        "created_at": now_iso(),
    }
    try:
        await ctx.services.database.batch(
            [ctx.services.uploads.create_statement(row), quota.marker_settled(ctx.services, upload_id)]
        )
    except Exception:
        logger.exception("D1 insert of upload %s failed; aborting the R2 upload", upload_id)
        try:
            await ctx.services.storage.abort_multipart(key, r2_upload_id)
        except Exception:
            # R2 removes incomplete multipart uploads after 7 days by itself.
            logger.exception("could not abort R2 upload %s", r2_upload_id)
        await quota.release(ctx.services, ctx.user_id, upload_id, request.size)
        raise unavailable("The metadata store") from None
    return json_response(
        {"upload_id": upload_id, "part_size": part_size, "part_count": part_count},
        201,
        {"location": f"/api/uploads/{upload_id}"},
    )


async def get_upload(ctx: RequestContext, upload_id: str) -> Response:
    upload = await _open_upload(ctx, upload_id)
    return json_response(_view(upload, await ctx.services.uploads.parts(upload_id)))


def _part_number(raw: str, part_count: int) -> int:
    if not is_decimal(raw, max_digits=5) or not 1 <= int(raw) <= part_count:
        raise Problem(400, f"part must be an integer from 1 to {part_count}")
    return int(raw)


async def upload_part(ctx: RequestContext, upload_id: str, part: str) -> Response:
    upload = await _open_upload(ctx, upload_id)
    number = _part_number(part, upload["part_count"])
    expected = multipart.expected_part_size(
        number, size=upload["size_bytes"], part_size=upload["part_size"], part_count=upload["part_count"]
    )
    declared = ctx.header("content-length")
    if declared is None:
        raise Problem(411, "Content-Length is required")
    if declared != str(expected):
        raise Problem(400, f"part {number} must be exactly {expected} bytes")
    body, feed = ctx.request.body, None
    if number == 1:
        # The first part carries the file's first bytes: checked like a single upload's.
        body, feed = await checked_body(body, upload["content_type"], expected)
    try:
        etag = await ctx.services.storage.upload_part(upload["r2_key"], upload["r2_upload_id"], number, body)
    except Exception:
        await discard(body, feed)
        logger.exception("R2 uploadPart %s of upload %s failed", number, upload_id)
        raise unavailable("Storage") from None
    await settle(feed)
    try:
        await ctx.services.uploads.record_part(upload_id, number, etag, expected, now_iso())
    except Exception:
        # R2 has the part but D1 does not know: the client retries the part, which overwrites it.
        logger.exception("recording part %s of upload %s failed", number, upload_id)
        raise unavailable("The metadata store") from None
    return json_response({"part": number, "etag": etag})


async def complete_upload(ctx: RequestContext, upload_id: str) -> Response:
    """The upload is claimed (closed as completed) before R2 assembles it: a concurrent abort
    then finds nothing to abort, and cannot give back a reservation this upload is about to
    turn into a stored file."""
    upload = await _open_upload(ctx, upload_id)
    parts = await ctx.services.uploads.parts(upload_id)
    missing = _view(upload, parts)["parts_missing"]
    if missing:
        raise Problem(409, f"{len(missing)} part(s) are missing", extra={"parts_missing": missing})
    marker_expires = iso_from_epoch(int(time.time()) + quota.REQUEST_LEASE_SECONDS)
    try:
        claimed = await ctx.services.uploads.claim_for_completion(upload_id, ctx.user_id, now_iso(), marker_expires)
    except Exception:
        logger.exception("claiming upload %s for completion failed", upload_id)
        raise unavailable("The metadata store") from None
    if not claimed:
        raise Problem(404, "No such upload in progress")
    try:
        await ctx.services.storage.complete_multipart(
            upload["r2_key"],
            upload["r2_upload_id"],
            [{"partNumber": p["part_number"], "etag": p["etag"]} for p in parts],
        )
    except Exception:
        logger.exception("R2 complete of upload %s failed", upload_id)
        try:
            await ctx.services.uploads.reopen(upload_id, now_iso())
        except Exception:
            # It stays closed with its marker: the reconciler releases the reservation.
            logger.exception("reopening upload %s failed", upload_id)
        raise unavailable("Storage") from None
    row = {
        "id": upload["file_id"],
        "user_id": ctx.user_id,
        "filename": upload["filename"],
        "r2_key": upload["r2_key"],
        "content_type": upload["content_type"],
        "size_bytes": upload["size_bytes"],
        "status": "pending",
        "created_at": (now := now_iso()),
        "updated_at": now,
        "sha256": None,
        "description": upload["description"],
        "folder_id": upload["folder_id"],
    }
    await register_file(ctx.services, row, public_view(row), reservation_id=upload_id)
    return json_response(public_view(row), 201, {"location": f"/api/files/{row['id']}"})


async def abort_upload(ctx: RequestContext, upload_id: str) -> Response:
    """Closed first, so a completion running at the same time either wins (and this answers
    404) or finds the upload gone; then R2's parts are dropped and the reservation given back."""
    upload = await _open_upload(ctx, upload_id)
    if not await ctx.services.uploads.close(upload_id, "aborted", now_iso()):
        raise Problem(404, "No such upload in progress")
    try:
        await ctx.services.storage.abort_multipart(upload["r2_key"], upload["r2_upload_id"])
    except Exception:
        # R2 drops an incomplete multipart upload by itself after seven days.
        logger.exception("R2 abort of upload %s failed", upload_id)
    await quota.release(ctx.services, ctx.user_id, upload_id, upload["size_bytes"])
    return empty_response(204)

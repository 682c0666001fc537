"""File requests: upload-only links. A user creates one (/api/file-requests) with its limits;
anyone holding its URL (/r/{token}) may send files to that user, within them, and sees nothing
else: not the owner's files, not what others sent, not the owner's quota.

Uploads through a request are the owner's files, tagged with the request (`file_request_id`),
and go through the same checks, quota reservation and processing as the owner's own raw
uploads (api/files.store_raw_upload). The request's file limit is counted with the quota in
the owner's UserStats object, so concurrent senders cannot pass it either."""

import logging
import secrets
import time
from functools import partial
from typing import Any
from urllib.parse import unquote

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.files import declared_size, live_folder, new_row, store_raw_upload
from edgefiles.api.links import CLOCK_SKEW_SECONDS, _epoch, client_of, signing_key
from edgefiles.api.pages import file_request_page, wants_html
from edgefiles.api.paging import page_of, page_request
from edgefiles.api.records import counts, create_with_audit, revoke_with_audit
from edgefiles.api.responses import json_response
from edgefiles.domain import passwords, sharing, tree_requests, validation
from edgefiles.domain.clock import iso_from_epoch, now_iso
from edgefiles.domain.problems import Problem
from edgefiles.domain.signing import ExpiredToken, InvalidToken, claims, sign
from edgefiles.services.passwords import check_attempt, hash_password

logger = logging.getLogger(__name__)

PASSWORD_HEADER = "x-request-password"  # noqa: S105 - a header name


def request_url(request: dict[str, Any], key: bytes) -> str:
    return "/r/" + sign(sharing.REQUEST_SUBJECT + request["id"], _epoch(request["expires_at"]), key)


def _view(request: dict[str, Any], received: int | None, key: bytes, now: int) -> dict[str, Any]:
    full = request["max_files"] is not None and received is not None and received >= request["max_files"]
    return {
        "id": request["id"],
        "label": request["label"],
        "url": request_url(request, key),
        "expires_at": request["expires_at"],
        "created_at": request["created_at"],
        "password_protected": request["password_hash"] is not None,
        "max_files": request["max_files"],
        "max_file_size": request["max_file_size"],
        "allowed_types": request["allowed_types"],
        "files_received": received,
        "folder_id": tree_requests.api_folder_id(request.get("folder_id") or ""),
        "files": f"/api/files?file_request_id={request['id']}",
        "state": sharing.link_state(
            revoked=request.get("revoked_at") is not None, expired=_epoch(request["expires_at"]) <= now, exhausted=full
        ),
    }


async def create_request(ctx: RequestContext) -> Response:
    key = signing_key(ctx)
    await ctx.services.rate_limits.check("share", ctx.user_id)
    settings = ctx.services.settings
    spec = sharing.new_file_request(
        validation.parse_json_object(await ctx.json_body() or "{}"),
        allowed=settings.allowed_types,
        max_file_size=settings.max_file_size,
    )
    folder_id = await live_folder(ctx, spec.folder_id or None)
    now = int(time.time())
    request = {
        "id": secrets.token_urlsafe(16),
        "folder_id": folder_id,
        "user_id": ctx.user_id,
        "label": spec.label,
        "password_hash": await hash_password(spec.password) if spec.password else None,
        "max_files": spec.max_files,
        "max_file_size": spec.max_file_size,
        "allowed_types": list(spec.allowed_types),
        "expires_at": iso_from_epoch(now + spec.lifetime),
        "created_at": now_iso(),
    }
    detail = {"expires_at": request["expires_at"], "password": spec.password is not None, "max_files": spec.max_files}
    insert = ctx.services.file_requests.create(request)
    await create_with_audit(ctx, insert, "file_request.created", request["id"], detail)
    return json_response(_view(request, 0, key, now), 201)


async def list_requests(ctx: RequestContext) -> Response:
    key = signing_key(ctx)
    limit, after = page_request(ctx)
    rows = await ctx.services.file_requests.page(ctx.user_id, limit + 1, after)
    ids = [r["id"] for r in rows[:limit]]
    received = (
        await counts(lambda: ctx.services.stats.files_received(ctx.user_id, ids), "files received") if ids else {}
    )
    now = int(time.time())
    return json_response(page_of(rows, limit, "created_at", lambda r: _view(r, received.get(r["id"]), key, now)))


async def revoke_request(ctx: RequestContext, request_id: str) -> Response:
    revoke = partial(ctx.services.file_requests.revoke, ctx.user_id, request_id)
    return await revoke_with_audit(
        ctx, revoke, "file_request.revoked", "file_requests", request_id, "No such file request"
    )


async def _open(ctx: RequestContext, token: str) -> dict[str, Any]:
    key = signing_key(ctx)
    try:
        subject, _ = claims(token, key, int(time.time()), sharing.MAX_RECORD_SECONDS + CLOCK_SKEW_SECONDS)
    except ExpiredToken:
        raise Problem(410, "This file request has expired") from None
    except InvalidToken:
        raise Problem(403, "This file request link is not valid") from None
    request_id = sharing.record_id(subject, sharing.REQUEST_SUBJECT)
    if request_id is None:
        raise Problem(403, "This file request link is not valid")
    request = await ctx.services.file_requests.get(request_id)
    if request is None:
        raise Problem(404, "No such file request")
    if request["revoked_at"] is not None:
        raise Problem(410, "This file request was closed by its owner")
    return request


async def show_request(ctx: RequestContext, token: str) -> Response:
    """The upload page for a browser; for other clients, what the request accepts."""
    request = await _open(ctx, token)
    protected = request["password_hash"] is not None
    if wants_html(ctx):
        return file_request_page(request, password_required=protected)
    return json_response(
        {
            "label": request["label"],
            "allowed_types": request["allowed_types"],
            "max_file_size": request["max_file_size"],
            "expires_at": request["expires_at"],
            "password_required": protected,
            "upload": "PUT this URL + /files/{filename} with the file as the body",
        }
    )


async def upload_to_request(ctx: RequestContext, token: str, filename: str) -> Response:
    request = await _open(ctx, token)
    await ctx.services.rate_limits.check("upload", f"request:{request['id']}")
    if request["password_hash"] is not None:
        header = ctx.header(PASSWORD_HEADER)
        if not header:
            raise Problem(401, f"This file request needs a password: send it in the {PASSWORD_HEADER} header")
        supplied = passwords.header_candidates(header)
        client = client_of(ctx)
        if not await check_attempt(
            ctx.services, request["user_id"], request["id"], client, supplied, request["password_hash"]
        ):
            raise Problem(401, "The password is not right")
    name = validation.filename(unquote(filename))
    size = declared_size(ctx, request["max_file_size"])
    content_type = validation.content_type(ctx.header("content-type"), frozenset(request["allowed_types"]))
    # Into the request's folder while it is live; if its owner deleted it, into the root (the
    # sender cannot know, and should not learn, how the owner arranges their files).
    folder_id = request["folder_id"]
    if folder_id and await ctx.services.folders.get(request["user_id"], folder_id) is None:
        folder_id = ""
    row = new_row(
        request["user_id"],
        filename=name,
        content_type=content_type,
        size=size,
        file_request_id=request["id"],
        folder_id=folder_id,
    )
    try:
        await store_raw_upload(ctx, row, request_max_files=request["max_files"])
    except Problem as problem:
        if problem.title == "Quota exceeded":
            # The sender learns nothing of the owner's storage.
            raise Problem(413, "The recipient has no room for this file") from None
        raise
    ctx.after_response(
        ctx.services.audit.record(
            request["user_id"],
            "link",
            "file_request.used",
            request["id"],
            detail={"file_id": row["id"], "filename": row["filename"], "size_bytes": size},
            request_id=ctx.request_id,
        )
    )
    return json_response(
        {
            "filename": row["filename"],
            "content_type": content_type,
            "size_bytes": size,
            "received_at": row["created_at"],
        },
        201,
    )

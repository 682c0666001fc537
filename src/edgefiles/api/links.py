"""Share links: records a user creates, lists and revokes (/api/links), and downloads through
/d/{token} by anyone holding the URL.

The token is signed (domain/signing.py) and names the link, so it cannot be guessed or altered;
the link's row in D1 is read on every download, so revoking it takes effect at once. A password
is asked for without entering the URL: in the X-Link-Password header, or through the small form
a browser is shown (POSTed back to the same URL). Wrong guesses are limited per client and per
link (services/passwords.check_attempt). Downloads are counted in the owner's UserStats object,
which serialises them, so a limit of 3 serves 3 however many arrive at once. Every response that
serves bytes counts (200, 206: a range request too); HEAD, 304, 412 and 416 do not. Tokens from
before link records name a file and keep working until they expire."""

import logging
import secrets
import time
from datetime import datetime
from functools import partial
from typing import Any

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.downloads import serve_file
from edgefiles.api.pages import password_form, wants_html
from edgefiles.api.paging import page_of, page_request
from edgefiles.api.records import counts, create_with_audit, revoke_with_audit
from edgefiles.api.responses import json_response
from edgefiles.domain import passwords, sharing, validation
from edgefiles.domain.clock import iso_from_epoch, now_iso
from edgefiles.domain.identifiers import is_uuid
from edgefiles.domain.problems import Problem, not_found, unavailable
from edgefiles.domain.secrets_policy import disabled
from edgefiles.domain.signing import ExpiredToken, InvalidToken, claims, sign
from edgefiles.domain.validation import MAX_LINK_SECONDS
from edgefiles.services.passwords import check_attempt, hash_password
from edgefiles.services.streams import BodyTooLarge, read_limited

logger = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS = 60
PASSWORD_HEADER = "x-link-password"  # noqa: S105 - a header name
MAX_FORM_BODY = 4096


def signing_key(ctx: RequestContext) -> bytes:
    """The key links are signed with; 503 while it is missing or refused."""
    key = ctx.services.settings.signing_key
    if key is None:
        raise disabled("Signed links are", "SIGNING_KEY")
    return key


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def link_url(link: dict[str, Any], key: bytes) -> str:
    return "/d/" + sign(sharing.LINK_SUBJECT + link["id"], _epoch(link["expires_at"]), key)


def _view(link: dict[str, Any], usage: dict[str, Any] | None, key: bytes, now: int) -> dict[str, Any]:
    downloads = usage["downloads"] if usage else None
    exhausted = link["max_downloads"] is not None and downloads is not None and downloads >= link["max_downloads"]
    return {
        "id": link["id"],
        "file_id": link["file_id"],
        "filename": link.get("filename"),
        "label": link["label"],
        "url": link_url(link, key),
        "expires_at": link["expires_at"],
        "created_at": link["created_at"],
        "password_protected": link["password_hash"] is not None,
        "max_downloads": link["max_downloads"],
        "downloads": downloads,
        "last_used_at": usage["last_used_at"] if usage else None,
        "state": sharing.link_state(
            revoked=link.get("revoked_at") is not None,
            expired=_epoch(link["expires_at"]) <= now,
            exhausted=exhausted,
            file_state=link.get("file_state", "stored"),
        ),
    }


async def create_link(ctx: RequestContext, file_id: str) -> Response:
    key = signing_key(ctx)
    await ctx.services.rate_limits.check("share", ctx.user_id)
    spec = sharing.new_link(validation.parse_json_object(await ctx.json_body() or "{}"))
    file = await ctx.services.records.get(ctx.user_id, file_id)
    if file is None:
        raise not_found()
    now = int(time.time())
    link = {
        "id": secrets.token_urlsafe(16),
        "user_id": ctx.user_id,
        "file_id": file_id,
        "label": spec.label,
        "password_hash": await hash_password(spec.password) if spec.password else None,
        "max_downloads": spec.max_downloads,
        "expires_at": iso_from_epoch(now + spec.lifetime),
        "created_at": now_iso(),
        "filename": file["filename"],
    }
    detail = {"file_id": file_id, "expires_at": link["expires_at"], "password": spec.password is not None}
    if spec.max_downloads is not None:
        detail["max_downloads"] = spec.max_downloads
    await create_with_audit(ctx, ctx.services.links.create(link), "link.created", link["id"], detail)
    return json_response(_view(link, {"downloads": 0, "last_used_at": None}, key, now), 201)


# The owner's own download through the browser (which cannot send the key with a plain link):
# a token over the file id, as links were before records, valid for a minute. Not a share link:
# no record, nothing to list or revoke.
OWN_DOWNLOAD_SECONDS = 60


async def create_download_url(ctx: RequestContext, file_id: str) -> Response:
    key = signing_key(ctx)
    if await ctx.services.records.get(ctx.user_id, file_id) is None:
        raise not_found()
    expires = int(time.time()) + OWN_DOWNLOAD_SECONDS
    return json_response({"url": "/d/" + sign(file_id, expires, key), "expires_at": iso_from_epoch(expires)}, 201)


async def list_links(ctx: RequestContext) -> Response:
    key = signing_key(ctx)
    limit, after = page_request(ctx)
    file_id = ctx.query.get("file_id")
    if file_id is not None and not is_uuid(file_id):
        raise Problem(400, "file_id is not one this API issued")
    rows = await ctx.services.links.page(ctx.user_id, limit + 1, after, file_id)
    ids = [link["id"] for link in rows[:limit]]
    usage = await counts(partial(ctx.services.stats.link_usage, ctx.user_id, ids), "link usage") if ids else {}
    now = int(time.time())
    return json_response(page_of(rows, limit, "created_at", lambda link: _view(link, usage.get(link["id"]), key, now)))


async def revoke_link(ctx: RequestContext, link_id: str) -> Response:
    revoke = partial(ctx.services.links.revoke, ctx.user_id, link_id)
    return await revoke_with_audit(ctx, revoke, "link.revoked", "share_links", link_id, "No such link")


async def download(ctx: RequestContext, token: str) -> Response:
    key = signing_key(ctx)
    now = int(time.time())
    try:
        # A link made at the longest lifetime by an isolate whose clock runs a little ahead is valid.
        subject, expires = claims(token, key, now, sharing.MAX_RECORD_SECONDS + CLOCK_SKEW_SECONDS)
    except ExpiredToken:
        raise Problem(403, "This link has expired") from None
    except InvalidToken:
        raise Problem(403, "This link is not valid") from None
    link_id = sharing.record_id(subject, sharing.LINK_SUBJECT)
    if link_id is None:
        return await _legacy_download(ctx, subject, expires, now)
    link = await ctx.services.links.get(link_id)
    if link is None:
        raise Problem(404, "No such link")
    if link["revoked_at"] is not None:
        raise Problem(410, "This link was revoked by its owner")
    row = await ctx.services.records.get_live(link["file_id"])
    if row is None or row["user_id"] != link["user_id"]:
        raise not_found()
    if link["password_hash"] is not None:
        refusal = await _check_password(ctx, link)
        if refusal is not None:
            return refusal
    if link["max_downloads"] is not None:
        # A spent link says nothing more about its file: not its size (a 416), not its ETag (a
        # 304), not even to HEAD. The count itself is taken once bytes will be served.
        try:
            usage = (await ctx.services.stats.link_usage(link["user_id"], [link_id]))[link_id]
        except Exception:
            logger.exception("reading the downloads of link %s failed", link_id)
            raise unavailable("Downloads through links are") from None
        if usage["downloads"] >= link["max_downloads"]:
            raise Problem(410, "This link has reached its download limit")
    if ctx.method == "HEAD":
        return await serve_file(ctx, row)

    async def count_download() -> None:
        try:
            claim = await ctx.services.stats.claim_download(link["user_id"], link_id, link["max_downloads"], now_iso())
        except Exception:
            logger.exception("counting a download of link %s failed", link_id)
            raise unavailable("Downloads through links are") from None
        if not claim["ok"]:
            raise Problem(410, "This link has reached its download limit")
        ctx.after_response(
            ctx.services.audit.record(
                link["user_id"],
                "link",
                "link.used",
                link_id,
                detail={"file_id": link["file_id"], "downloads": claim["downloads"]},
                request_id=ctx.request_id,
            )
        )

    # Counted only once bytes will be served: a 304 revalidation, a 412 or a 416 uses nothing.
    return await serve_file(ctx, row, on_serve=count_download)


async def _legacy_download(ctx: RequestContext, file_id: str, expires: int, now: int) -> Response:
    """A token from before link records: it names a file, and lives at most seven days."""
    if not is_uuid(file_id) or expires > now + MAX_LINK_SECONDS + CLOCK_SKEW_SECONDS:
        raise Problem(403, "This link is not valid")
    row = await ctx.services.records.get_live(file_id)
    if row is None:
        raise not_found()
    return await serve_file(ctx, row)


async def _check_password(ctx: RequestContext, link: dict[str, Any]) -> Response | None:
    """None when the right password came with the request; else the answer to give."""
    header = ctx.header(PASSWORD_HEADER)
    supplied = passwords.header_candidates(header) if header else []
    from_form = False
    if header is None and ctx.method == "POST":
        try:
            typed = sharing.form_password(await read_limited(ctx.request.body, MAX_FORM_BODY))
        except BodyTooLarge:
            raise Problem(413, f"The form is limited to {MAX_FORM_BODY} bytes") from None
        supplied = [typed] if typed else []
        from_form = True
    browser = from_form or wants_html(ctx)
    if not supplied:
        if browser:
            return password_form(None)
        raise Problem(401, f"This link needs a password: send it in the {PASSWORD_HEADER} header")
    try:
        right = await check_attempt(
            ctx.services, link["user_id"], link["id"], client_of(ctx), supplied, link["password_hash"]
        )
    except Problem as problem:
        if browser and problem.status == 429:
            return password_form("Too many wrong passwords. Try again in a minute.", status=429, retry_after=60)
        raise
    if right:
        return None
    ctx.after_response(
        ctx.services.audit.record(
            link["user_id"], "link", "link.password_refused", link["id"], request_id=ctx.request_id
        )
    )
    if browser:
        return password_form("That password is not right. Try again.")
    raise Problem(401, "The password is not right")


def client_of(ctx: RequestContext) -> str:
    """The client's address as Cloudflare's edge gives it (absent locally: every client is one,
    which is stricter)."""
    return ctx.header("cf-connecting-ip") or "unknown"

"""/dav/: the user's folders and files over WebDAV (RFC 4918, class 1), for desktop mounts,
rclone and other WebDAV clients. Dispatched before the route table (its methods and paths are
not an OpenAPI API's). Basic authentication with the API key as the password.

The same rows and objects as the API: a folder is a collection, a file a resource; what is
uploaded here is registered, processed by the queue and counted like any upload. What WebDAV
needs besides:
- PUT over an existing file replaces it: the new file takes the name and the old one is marked
  deleted in the same transaction (it then follows a deletion's story). Its dead properties
  pass to the new one.
- A type the service does not accept, or bytes that are not what the type says, are stored as
  application/octet-stream rather than refused: a file system takes any file.
- DELETE moves to the trash, as the API's delete does.
- COPY of a file streams the object into a new one (R2 has no server-side copy in the binding);
  COPY of a folder copies at most COPY_LIMIT entries, else 507 and nothing is copied.
"""

import asyncio
import contextlib
import html
import logging
import mimetypes
import uuid
from dataclasses import dataclass, field
from typing import Any

import js
from workers import Response

from durable_objects import dav_locks
from edgefiles.api.auth import authenticate_key
from edgefiles.api.context import RequestContext
from edgefiles.api.downloads import serve_file
from edgefiles.api.files import new_row, public_view
from edgefiles.domain import dav, dav_if, paths
from edgefiles.domain.api_keys import basic_password, bearer_token
from edgefiles.domain.clock import epoch_from_iso, iso_from_epoch, now_iso
from edgefiles.domain.files import cache_key, parse_content_length
from edgefiles.domain.numbers import is_decimal
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.domain.sniff import SNIFF_BYTES, matches_content
from edgefiles.services import quota
from edgefiles.services.dav_properties import file_target, folder_target
from edgefiles.services.folders import NameTaken, NoSuchFolder
from edgefiles.services.ingest import register_file
from edgefiles.services.streams import BodyTooLarge, BodyUnreadable, discard, read_limited, settle, sniff_body

logger = logging.getLogger(__name__)

METHODS = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK"
OCTET = "application/octet-stream"
COPY_LIMIT = 200  # entries a COPY of a folder may create in one request
LIST_LIMIT = 5000  # entries a Depth 1 PROPFIND lists
DEFAULT_LOCK_SECONDS = 3600
MAX_ANSWER = 8 * 1000 * 1000  # characters of dead-property values one PROPFIND may answer with
MAX_IF_RESOURCES = 10  # resources one If header may name (each costs a look-up)
MAX_LOCK_SECONDS = 7 * 24 * 3600
SUPPORTED_LOCK = "".join(
    f"<D:lockentry><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
    for scope in ("exclusive", "shared")
)
REALM = 'Basic realm="edgefiles", charset="UTF-8"'


def _problem(status: int, detail: str) -> Problem:
    return Problem(status, detail)


@dataclass
class Target:
    """What a path names: the root, a folder, a file, or nothing (and whether its parent is)."""

    names: list[str]
    folders: list[dict[str, Any]] = field(default_factory=list)
    file: dict[str, Any] | None = None

    @property
    def is_root(self) -> bool:
        return not self.names

    @property
    def is_collection(self) -> bool:
        return len(self.folders) == len(self.names)

    @property
    def exists(self) -> bool:
        return self.is_collection or self.file is not None

    @property
    def folder_id(self) -> str:
        """The stored id of the folder it is ('' for the root)."""
        return self.folders[-1]["id"] if self.names else paths.ROOT

    @property
    def parent_id(self) -> str | None:
        """The stored id of its parent folder, or None when that does not exist."""
        if len(self.folders) < len(self.names) - 1:
            return None
        return self.folders[len(self.names) - 2]["id"] if len(self.names) >= 2 else paths.ROOT

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def property_target(self) -> str:
        return file_target(self.file["id"]) if self.file else folder_target(self.folder_id)


async def _resolve(ctx: RequestContext, names: list[str]) -> Target:
    if not names:
        return Target(names)
    target = Target(names, await ctx.services.folders.resolve(ctx.user_id, names))
    if target.parent_id is not None and not target.is_collection:
        target.file = await ctx.services.records.get_named(ctx.user_id, target.parent_id, target.name)
    return target


async def handle(ctx: RequestContext) -> Response:
    """Every request under /dav: OPTIONS needs no credentials (clients probe first)."""
    method = ctx.method
    if method == "OPTIONS":
        return Response(None, headers={"dav": "1, 2", "allow": METHODS, "ms-author-via": "DAV"})
    header = ctx.header("authorization")
    token = basic_password(header) or bearer_token(header)
    refused = Problem(401, "Sign in with your API key as the password", headers={"www-authenticate": REALM})
    await authenticate_key(ctx, token, refused)
    try:
        names = dav.split_path(ctx.path)
    except dav.DavError as error:
        raise Problem(400, str(error)) from None
    handler = _HANDLERS.get(method)
    if handler is None:
        raise Problem(405, f"{method} is not supported here", headers={"allow": METHODS})
    try:
        return await handler(ctx, names)
    except dav.DavError as error:
        raise Problem(400, str(error)) from None


async def _body(ctx: RequestContext) -> bytes:
    return (await ctx.json_body(dav.MAX_XML_BODY)).encode("utf-8")


# -- preconditions: the If header, then the locks ------------------------------------------


def lock_path(names: list[str]) -> str:
    return "/".join(names)


def _error_body(condition: str) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:">{condition}</D:error>'


def _locked(root: str) -> Problem:
    href = dav.text(dav.href(root.split("/") if root else [], False))
    return Problem(423, "The resource is locked", extra={"lock_root": href})


async def _guard(
    ctx: RequestContext, names: list[str], target: "Target", writes: list[tuple[list[str], bool]]
) -> set[str]:
    """Evaluates the If header (412 when it does not hold), then checks that every lock on what
    the request writes (`writes`: (names, with everything inside); a collection whose members
    change is written too) had its token submitted (423 otherwise). The tokens submitted."""
    header = ctx.header("if")
    lists: list[dav_if.IfList] = []
    if header:
        try:
            lists = dav_if.parse(header)
        except dav_if.IfSyntaxError as error:
            raise Problem(400, f"If: {error}") from None
        states: dict[str, dav_if.State] = {}
        resources = dav_if.resources(lists, names)
        if len(resources) > MAX_IF_RESOURCES:
            raise Problem(400, f"If: at most {MAX_IF_RESOURCES} resources")
        for resource in resources:
            found = target if resource == names else await _resolve(ctx, resource)
            etag = found.file.get("etag") if found.file else None
            locks = (
                await ctx.services.stats.dav_covering(ctx.user_id, lock_path(resource))
                if found.exists or resource == names
                else []
            )
            states[lock_path(resource)] = (etag, {lock["token"] for lock in locks})
        if not dav_if.holds(lists, names, lambda resource: states[lock_path(resource)]):
            raise Problem(412, "The If header's conditions do not hold")
    tokens = dav_if.submitted(lists)
    for write_names, inside in writes:
        path = lock_path(write_names)
        stats = ctx.services.stats
        locks = await (stats.dav_touching(ctx.user_id, path) if inside else stats.dav_covering(ctx.user_id, path))
        exclusive = [lock for lock in locks if lock["scope"] == "exclusive"]
        shared = [lock for lock in locks if lock["scope"] == "shared"]
        for lock in exclusive:
            if lock["token"] not in tokens:
                raise _locked(lock["root"])
        if shared and not any(lock["token"] in tokens for lock in shared):
            raise _locked(shared[0]["root"])
    return tokens


def _timeout(raw: str | None) -> int:
    """The lock's timeout from `Timeout: Second-N, Infinite` (the first one understood), capped."""
    for item in (raw or "").split(","):
        value = item.strip().lower()
        if value == "infinite":
            return MAX_LOCK_SECONDS
        if value.startswith("second-") and is_decimal(value[7:], max_digits=12):
            return max(1, min(int(value[7:]), MAX_LOCK_SECONDS))
    return DEFAULT_LOCK_SECONDS


def _activelock(lock: dict[str, Any]) -> str:
    root = lock["root"].split("/") if lock["root"] else []
    return (
        "<D:activelock><D:locktype><D:write/></D:locktype>"
        f"<D:lockscope><D:{lock['scope']}/></D:lockscope><D:depth>{lock['depth']}</D:depth>"
        f"<D:owner>{lock['owner']}</D:owner><D:timeout>Second-{lock['timeout_seconds']}</D:timeout>"
        f"<D:locktoken><D:href>{dav.text(lock['token'])}</D:href></D:locktoken>"
        f"<D:lockroot><D:href>{dav.text(dav.href(root, False))}</D:href></D:lockroot></D:activelock>"
    )


def _lock_answer(lock: dict[str, Any], status: int) -> Response:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>'
        f"{_activelock(lock)}</D:lockdiscovery></D:prop>"
    )
    headers = {"content-type": "application/xml; charset=utf-8", "lock-token": f"<{lock['token']}>"}
    return Response(body, status=status, headers=headers)


async def lock(ctx: RequestContext, names: list[str]) -> Response:
    """LOCK: a new lock (200, or 201 when it creates an empty file at an unmapped path), or,
    without a body, the refresh of a lock named in the If header."""
    timeout = _timeout(ctx.header("timeout"))
    body = await _body(ctx)
    target = await _resolve(ctx, names)
    path = lock_path(names)
    if not body.strip():
        tokens = await _guard(ctx, names, target, [])
        refreshed = await ctx.services.stats.dav_refresh(ctx.user_id, sorted(tokens), path, timeout)
        if refreshed is None:
            raise Problem(412, "No lock named in the If header applies here")
        return _lock_answer(refreshed, 200)
    info = dav.parse_lockinfo(body)
    depth = dav.depth(ctx.header("depth"))
    if depth == "1":
        raise Problem(400, "Depth of a LOCK is 0 or infinity")
    await _guard(ctx, names, target, [])
    if not target.exists and target.parent_id is None:
        raise _problem(409, "The parent collection does not exist")
    granted = await ctx.services.stats.dav_lock(
        ctx.user_id,
        {
            "token": f"urn:uuid:{uuid.uuid4()}",
            "root": path,
            "depth": depth if target.is_collection else "0",
            "scope": info.scope,
            "owner": info.owner,
            "timeout_seconds": timeout,
        },
    )
    if not granted["ok"]:
        return Response(
            _error_body("<D:no-conflicting-lock/>"),
            status=423,
            headers={"content-type": "application/xml; charset=utf-8"},
        )
    if target.exists:
        return _lock_answer(granted["lock"], 200)
    try:
        await _create_empty(ctx, target)
    except BaseException:
        await ctx.services.stats.dav_unlock(ctx.user_id, granted["lock"]["token"], path)
        raise
    return _lock_answer(granted["lock"], 201)


async def unlock(ctx: RequestContext, names: list[str]) -> Response:
    token = (ctx.header("lock-token") or "").strip()
    if not (token.startswith("<") and token.endswith(">")):
        raise Problem(400, "UNLOCK needs Lock-Token: <token>")
    if not await ctx.services.stats.dav_unlock(ctx.user_id, token[1:-1], lock_path(names)):
        return Response(
            _error_body("<D:lock-token-matches-request-uri/>"),
            status=409,
            headers={"content-type": "application/xml; charset=utf-8"},
        )
    return Response(None, status=204)


async def _create_empty(ctx: RequestContext, target: "Target") -> None:
    """The empty file a LOCK of an unmapped path creates (RFC 4918 §7.3)."""
    row = new_row(
        ctx.user_id,
        filename=target.name,
        content_type=_content_type(ctx, target.name),
        size=0,
        folder_id=target.parent_id,
    )
    row["content_type"] = row["content_type"] if matches_content(row["content_type"], b"") else OCTET
    await quota.reserve(ctx.services, ctx.user_id, reservation_id=row["id"], file_id=row["id"], size=0)
    try:
        stored = await ctx.services.storage.put(
            row["r2_key"], b"", content_type=row["content_type"], filename=row["filename"], user_id=ctx.user_id
        )
    except Exception:
        await quota.release(ctx.services, ctx.user_id, row["id"], 0)
        logger.exception("R2 put of a locked empty file failed")
        raise unavailable("Storage") from None
    row["etag"] = stored.httpEtag
    await register_file(ctx.services, row, public_view(row), reservation_id=row["id"])


async def _forget_locks(ctx: RequestContext, names: list[str]) -> None:
    """The locks on a path that was deleted or moved away (they do not follow it)."""
    try:
        await ctx.services.stats.dav_forget(ctx.user_id, lock_path(names))
    except Exception as error:
        logger.warning("forgetting the locks on %s failed (%s); they expire", lock_path(names), error)


# -- reading ---------------------------------------------------------------------------------


async def get(ctx: RequestContext, names: list[str]) -> Response:
    target = await _resolve(ctx, names)
    if target.file is not None:
        return await serve_file(ctx, target.file)
    if not target.is_collection:
        raise _problem(404, "Nothing is at this path")
    if ctx.method == "HEAD":
        return Response(None, headers={"content-type": "text/html; charset=utf-8"})
    entries = await _children(ctx, target.folder_id, LIST_LIMIT)
    links = [(dav.href([*names, entry_name], kind == "folder"), entry_name) for kind, entry_name, _ in entries]
    rows = "".join(f'<li><a href="{html.escape(link)}">{html.escape(text)}</a></li>' for link, text in links)
    title = html.escape("/" + "/".join(names))
    body = f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1><ul>{rows}</ul>"
    return Response(
        body,
        headers={"content-type": "text/html; charset=utf-8", "content-security-policy": "default-src 'none'"},
    )


async def _children(ctx: RequestContext, folder_id: str, limit: int) -> list[tuple[str, str, dict[str, Any]]]:
    """A folder's entries: ("folder" | "file", name, row), folders first."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for kind, pages, name_key in (
        ("folder", ctx.services.folders.folder_page, "name"),
        ("file", ctx.services.records.folder_files, "filename"),
    ):
        after = None
        while len(found) < limit:
            page = await pages(ctx.user_id, folder_id, after, 100)
            found += [(kind, row[name_key], row) for row in page]
            if len(page) < 100:
                break
            after = (page[-1][name_key], page[-1]["id"])
    return found[:limit]


def _iso8601(value: str) -> str:
    return value.replace(".000Z", "Z") if value.endswith(".000Z") else value


def _live_file(row: dict[str, Any]) -> dict[str, str]:
    modified = row.get("modified_at") or row["created_at"]
    props = {
        "creationdate": dav.text(_iso8601(row["created_at"])),
        "displayname": dav.text(row["filename"]),
        "getcontentlength": str(row["size_bytes"]),
        "getcontenttype": dav.text(row["content_type"]),
        "getlastmodified": dav.http_date(epoch_from_iso(modified)),
        "resourcetype": "",
    }
    if row.get("etag"):
        props["getetag"] = dav.text(row["etag"])
    return props


def _live_folder(row: dict[str, Any] | None, name: str) -> dict[str, str]:
    props = {"displayname": dav.text(name), "resourcetype": "<D:collection/>"}
    if row is not None:
        props["creationdate"] = dav.text(_iso8601(row["created_at"]))
        props["getlastmodified"] = dav.http_date(epoch_from_iso(row["updated_at"]))
    return props


def _dav_element(name: str, value: str) -> str:
    return f"<D:{name}>{value}</D:{name}>" if value else f"<D:{name}/>"


def _checksums(row: dict[str, Any]) -> str | None:
    """oc:checksums, which rclone's owncloud mode reads to compare files without downloading."""
    return f"<oc:checksum>MD5:{row['md5']}</oc:checksum>" if row.get("md5") else None


async def propfind(ctx: RequestContext, names: list[str]) -> Response:
    depth = dav.depth(ctx.header("depth"))
    if depth == "infinity":
        body = '<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>'
        return Response(body, status=403, headers={"content-type": "application/xml; charset=utf-8"})
    spec = dav.parse_propfind(await _body(ctx))
    target = await _resolve(ctx, names)
    if not target.exists:
        raise _problem(404, "Nothing is at this path")
    entries: list[tuple[list[str], bool, dict[str, Any] | None]] = []
    if target.file is not None:
        entries.append((names, False, target.file))
    else:
        entries.append((names, True, target.folders[-1] if target.folders else None))
        if depth == "1":
            for kind, entry_name, row in await _children(ctx, target.folder_id, LIST_LIMIT):
                entries.append(([*names, entry_name], kind == "folder", row))
    targets = [
        folder_target(row["id"] if row else paths.ROOT) if collection else file_target(row["id"])
        for _, collection, row in entries
    ]
    if await ctx.services.dav_properties.size(ctx.user_id, targets) > MAX_ANSWER:
        raise _problem(507, "The answer would be too large: ask with Depth 0, or for fewer properties")
    dead = await ctx.services.dav_properties.of(ctx.user_id, targets)
    locks = await ctx.services.stats.dav_touching(ctx.user_id, lock_path(names))
    wants_quota = spec.kind == "prop" and any(
        n in ((dav.DAV_NS, "quota-used-bytes"), (dav.DAV_NS, "quota-available-bytes")) for n in spec.names
    )
    usage = await ctx.services.stats.usage(ctx.user_id, ctx.services.settings.quota) if wants_quota else None
    responses = []
    for (entry_names, collection, row), property_target in zip(entries, targets, strict=True):
        live = _live_folder(row, entry_names[-1] if entry_names else "") if collection else _live_file(row)
        live["supportedlock"] = SUPPORTED_LOCK
        path = lock_path(entry_names)
        live["lockdiscovery"] = "".join(_activelock(lock) for lock in locks if dav_locks.covers(lock, path))
        if usage is not None and collection:
            live["quota-used-bytes"] = str(usage.get("used_bytes", 0))
            live["quota-available-bytes"] = str(max(0, usage.get("remaining_bytes", 0)))
        extra = {} if collection else {(dav.OWNCLOUD_NS, "checksums"): _checksums(row)}
        responses.append(
            dav.response(dav.href(entry_names, collection), _propstats(spec, live, dead[property_target], extra))
        )
    return _multistatus(responses)


def _propstats(
    spec: dav.Propfind,
    live: dict[str, str],
    dead: dict[dav.PropertyName, str],
    extra: dict[dav.PropertyName, str | None],
) -> list[str]:
    if spec.kind == "propname":
        names = [_dav_element(name, "") for name in live] + [dav.element(name) for name in dead]
        names += [dav.element(name) for name, value in extra.items() if value is not None]
        return [dav.propstat(names, "200 OK")]
    if spec.kind == "allprop":
        found = [_dav_element(name, value) for name, value in live.items() if not name.startswith("quota-")]
        found += [dav.element(name, value) for name, value in dead.items()]
        return [dav.propstat(found, "200 OK")]
    found, missing = [], []
    for name in spec.names:
        namespace, local = name
        if namespace == dav.DAV_NS and local in live:
            found.append(_dav_element(local, live[local]))
        elif name in dead:
            found.append(dav.element(name, dead[name]))
        elif extra.get(name) is not None:
            found.append(dav.element(name, extra[name]))
        else:
            missing.append(dav.element(name))
    # The found ones first: rclone reads only the first propstat.
    stats = [dav.propstat(found, "200 OK")] if found else []
    if missing:
        stats.append(dav.propstat(missing, "404 Not Found"))
    return stats


def _multistatus(responses: list[str]) -> Response:
    return Response(dav.multistatus(responses), status=207, headers={"content-type": "application/xml; charset=utf-8"})


async def proppatch(ctx: RequestContext, names: list[str]) -> Response:
    changes = dav.parse_proppatch(await _body(ctx))
    target = await _resolve(ctx, names)
    if not target.exists:
        raise _problem(404, "Nothing is at this path")
    await _guard(ctx, names, target, [(names, False)])
    protected = [c for c in changes if c.name[0] == dav.DAV_NS and c.name[1] in dav.LIVE]
    href = dav.href(names, target.is_collection)
    if protected:
        # All or nothing: the live ones are refused (403), the rest failed with them (424).
        stats = [dav.propstat([dav.element(c.name) for c in protected], "403 Forbidden")]
        others = [c for c in changes if c not in protected]
        if others:
            stats.append(dav.propstat([dav.element(c.name) for c in others], "424 Failed Dependency"))
        return _multistatus([dav.response(href, stats)])
    statements = ctx.services.dav_properties.change_statements(ctx.user_id, target.property_target, changes)
    try:
        await ctx.services.database.batch(statements)
    except Exception as error:
        if "dav property limit" in str(error):
            # migrations/0009: 200 properties, 64 KB of values per resource; nothing was applied.
            stats = [dav.propstat([dav.element(c.name) for c in changes], "507 Insufficient Storage")]
            return _multistatus([dav.response(href, stats)])
        logger.exception("PROPPATCH of %s failed", href)
        raise unavailable("The metadata store") from None
    seen = list(dict.fromkeys(c.name for c in changes))
    return _multistatus([dav.response(href, [dav.propstat([dav.element(name) for name in seen], "200 OK")])])


# -- writing ---------------------------------------------------------------------------------


async def mkcol(ctx: RequestContext, names: list[str]) -> Response:
    if ctx.header("content-length") not in (None, "0") or ctx.header("transfer-encoding"):
        raise _problem(415, "MKCOL takes no body")
    target = await _resolve(ctx, names)
    if target.exists:
        raise Problem(405, "Something already exists at this path", headers={"allow": METHODS})
    if target.parent_id is None:
        raise _problem(409, "The parent collection does not exist")
    await _guard(ctx, names, target, [(names, False), (names[:-1], False)])
    if len(names) > paths.MAX_DEPTH:
        raise _problem(403, f"Folders nest at most {paths.MAX_DEPTH} deep")
    await _create_folder(ctx, target.parent_id, target.name)
    return Response(None, status=201)


async def _create_folder(ctx: RequestContext, parent_id: str, name: str) -> str:
    now = now_iso()
    row = {"id": str(uuid.uuid4()), "parent_id": parent_id, "name": name, "created_at": now}
    try:
        await ctx.services.folders.create(ctx.user_id, row)
    except NameTaken:
        raise Problem(405, "Something already exists at this path", headers={"allow": METHODS}) from None
    except NoSuchFolder:
        raise _problem(409, "The parent collection does not exist") from None
    return row["id"]


def _content_type(ctx: RequestContext, name: str) -> str:
    """The declared type, else one guessed from the name; octet-stream unless the service takes it."""
    declared = (ctx.header("content-type") or "").split(";")[0].strip().lower()
    guessed = declared or (mimetypes.guess_type(name)[0] or OCTET)
    return guessed if guessed in ctx.services.settings.allowed_types else OCTET


def _put_size(ctx: RequestContext) -> int:
    """Content-Length, or Finder's X-Expected-Entity-Length for a chunked body; 411 without."""
    limit = ctx.services.settings.max_dav_file_size
    declared = ctx.header("content-length") or ctx.header("x-expected-entity-length")
    try:
        return parse_content_length(declared, limit)
    except LookupError:
        raise _problem(411, "Send Content-Length (or X-Expected-Entity-Length)") from None
    except OverflowError:
        raise _problem(413, f"Files are limited to {limit} bytes here") from None
    except ValueError as error:
        raise _problem(400, str(error)) from None


async def put(ctx: RequestContext, names: list[str]) -> Response:
    if not names:
        raise Problem(405, "The root is a collection", headers={"allow": METHODS})
    size = _put_size(ctx)
    await ctx.services.rate_limits.check("upload", ctx.user_id)
    target = await _resolve(ctx, names)
    if target.is_collection:
        raise Problem(405, "A collection is at this path", headers={"allow": METHODS})
    if target.parent_id is None:
        raise _problem(409, "The parent collection does not exist")
    await _guard(ctx, names, target, [(names, False)] + ([] if target.file else [(names[:-1], False)]))
    content_type = _content_type(ctx, target.name)
    row = new_row(ctx.user_id, filename=target.name, content_type=content_type, size=size, folder_id=target.parent_id)
    mtime = ctx.header("x-oc-mtime")
    if mtime and is_decimal(mtime.strip(), max_digits=11):
        row["modified_at"] = iso_from_epoch(int(mtime.strip()))
    md5 = _oc_md5(ctx.header("oc-checksum"))
    replaced = target.file is not None
    await quota.reserve(ctx.services, ctx.user_id, reservation_id=row["id"], file_id=row["id"], size=size)
    stored = False
    try:
        await _store(ctx, row, size, md5)
        stored = True
        await register_file(ctx.services, row, public_view(row), reservation_id=row["id"], replace=True)
    except BaseException:
        if not stored:
            await quota.release(ctx.services, ctx.user_id, row["id"], size)
        raise
    headers = {"etag": row["etag"]} if row.get("etag") else {}
    if row.get("modified_at"):
        headers["x-oc-mtime"] = "accepted"  # rclone then trusts the time it set
    return Response(None, status=204 if replaced else 201, headers=headers)


def _oc_md5(header: str | None) -> str | None:
    """The MD5 of an OC-Checksum header (rclone's owncloud mode), for R2 to verify on the way in."""
    for item in (header or "").split():
        kind, _, value = item.partition(":")
        if kind.upper() == "MD5" and len(value) == 32 and all(c in "0123456789abcdefABCDEF" for c in value):
            return value.lower()
    return None


async def _store(ctx: RequestContext, row: dict[str, Any], size: int, md5: str | None) -> None:
    """Streams the body into R2 (a chunked body through a FixedLengthStream of the expected
    length), sniffing its first bytes: a type they contradict becomes octet-stream."""
    body, feed = ctx.request.body, None
    chunked = ctx.header("content-length") is None
    if size == 0:
        if chunked:
            try:
                await read_limited(ctx.request.body, 0)
            except BodyTooLarge:
                raise _problem(400, "The body is longer than X-Expected-Entity-Length") from None
        body = b""
    elif row["content_type"] != OCTET or ctx.header("content-length") is None:
        try:
            head, body, feed = await sniff_body(ctx.request.body, size, SNIFF_BYTES)
        except BodyUnreadable:
            raise _problem(400, "The request body ended before its first bytes arrived") from None
        if not matches_content(row["content_type"], head):
            row["content_type"] = OCTET
    options: dict[str, Any] = {"md5": md5} if md5 else {}
    try:
        stored = await ctx.services.storage.put(
            row["r2_key"],
            body,
            content_type=row["content_type"],
            filename=row["filename"],
            user_id=ctx.user_id,
            **options,
        )
    except Exception as error:
        if feed is not None:
            await discard(body, feed)
        if "md5" in str(error).lower() or "checksum" in str(error).lower():
            raise _problem(400, "The body does not match OC-Checksum") from None
        if chunked and _length_mismatch(error, feed):
            raise _problem(400, "The body's length is not X-Expected-Entity-Length") from None
        logger.exception("R2 put failed for %s", row["r2_key"])
        raise unavailable("Storage") from None
    await settle(feed)
    row["etag"] = stored.httpEtag
    checksums = stored.checksums
    digest = getattr(checksums, "md5", None) if checksums is not None else None
    if digest is not None:
        # An ArrayBuffer, which the SDK may already have made a memoryview.
        row["md5"] = (digest.to_bytes() if hasattr(digest, "to_bytes") else bytes(digest)).hex()


def _length_mismatch(error: BaseException, feed: Any) -> bool:
    """Whether a put failed because a chunked body was longer or shorter than announced (the
    FixedLengthStream it went through refused it)."""
    causes = [str(error)]
    if feed is not None and feed.done() and not feed.cancelled() and feed.exception() is not None:
        causes.append(str(feed.exception()))
    return any("FixedLengthStream" in cause or "expected bytes" in cause for cause in causes)


async def delete(ctx: RequestContext, names: list[str]) -> Response:
    if not names:
        raise _problem(403, "The root cannot be deleted")
    target = await _resolve(ctx, names)
    if target.exists:
        await _guard(ctx, names, target, [(names, True), (names[:-1], False)])
    if target.file is not None:
        await _trash_file(ctx, target.file["id"])
    elif target.is_collection:
        if dav.depth(ctx.header("depth")) != "infinity":
            raise _problem(400, "DELETE of a collection is Depth: infinity")
        if not await ctx.services.folders.trash(ctx.user_id, target.folder_id, now_iso()):
            raise _problem(404, "Nothing is at this path")
    else:
        raise _problem(404, "Nothing is at this path")
    await _forget_locks(ctx, names)
    return Response(None, status=204)


async def _trash_file(ctx: RequestContext, file_id: str) -> None:
    if await ctx.services.records.trash(ctx.user_id, file_id, now_iso()) is None:
        raise _problem(404, "Nothing is at this path")
    with contextlib.suppress(Exception):
        await ctx.services.cache.delete(cache_key(ctx.user_id, file_id))
    with contextlib.suppress(Exception):
        await ctx.services.stats.file_trashed(ctx.user_id, file_id)


async def _clear(ctx: RequestContext, target: Target) -> None:
    """Makes room at a destination that will be overwritten: into the trash with what is there."""
    if target.file is not None:
        await _trash_file(ctx, target.file["id"])
    elif target.is_collection and target.names:
        await ctx.services.folders.trash(ctx.user_id, target.folder_id, now_iso())


async def copy(ctx: RequestContext, names: list[str]) -> Response:
    return await _copy_or_move(ctx, names, move=False)


async def move(ctx: RequestContext, names: list[str]) -> Response:
    return await _copy_or_move(ctx, names, move=True)


async def _copy_or_move(ctx: RequestContext, names: list[str], *, move: bool) -> Response:
    """Everything that can refuse the request is checked (and a copy's quota reserved) before a
    destination that is overwritten goes to the trash, so a refused COPY or MOVE changes nothing."""
    try:
        destination_names = dav.destination(ctx.header("destination"), ctx.header("host"))
    except dav.ElsewhereError as error:
        raise _problem(502, str(error)) from None
    overwrite = dav.overwrite(ctx.header("overwrite"))
    depth = dav.depth(ctx.header("depth"))
    source = await _resolve(ctx, names)
    if not source.exists:
        raise _problem(404, "Nothing is at this path")
    if not names:
        raise _problem(403, "The root cannot be copied or moved")
    if destination_names[: len(names)] == names and (source.is_collection or destination_names == names):
        raise _problem(403, "The destination is the source, or inside it")
    if not destination_names:
        raise _problem(403, "The root cannot be replaced")
    if names[: len(destination_names)] == destination_names:
        raise _problem(409, "The destination holds the source: it cannot be replaced by it")
    destination = await _resolve(ctx, destination_names)
    if destination.parent_id is None:
        raise _problem(409, "The destination's parent collection does not exist")
    existed = destination.exists
    if existed and not overwrite:
        raise _problem(412, "The destination exists and Overwrite is F")
    # A depth-0 lock on a collection guards its membership (RFC 4918 §7.4): the parent that
    # gains the destination, and the one a MOVE takes the source from.
    writes = [(destination_names, existed)] + ([] if existed else [(destination_names[:-1], False)])
    writes += [(names, True), (names[:-1], False)] if move else []
    await _guard(ctx, names, source, writes)
    parent, name = destination.parent_id, destination.name
    plan, copy_row = await _prepare(ctx, source, destination_names, parent, move=move, shallow=depth == "0")
    try:
        if existed:
            await _clear(ctx, destination)
            await _forget_locks(ctx, destination_names)
    except BaseException:
        if copy_row is not None:
            await quota.release(ctx.services, ctx.user_id, copy_row["id"], copy_row["size_bytes"])
        raise
    if move:
        await _move(ctx, source, parent, name)
        await _forget_locks(ctx, names)
    elif copy_row is not None:
        await _copy_file(ctx, source.file, copy_row)
    else:
        created: dict[str, list[str]] = {"folders": [], "files": []}
        try:
            await _copy_folder(ctx, source, parent, name, plan, created)
        except BaseException:
            # All or nothing: what was copied goes, and what the copy would have replaced returns.
            await _undo_copy(ctx, created, destination if existed else None)
            raise
    return Response(None, status=204 if existed else 201)


async def _undo_copy(ctx: RequestContext, created: dict[str, list[str]], replaced: Target | None) -> None:
    try:
        if created["files"]:
            await ctx.services.records.discard(ctx.user_id, created["files"], now_iso())
            await ctx.services.stats.record_deletes(ctx.user_id, created["files"])
        if created["folders"]:
            await ctx.services.folders.drop(ctx.user_id, created["folders"])
        if replaced is not None and replaced.file is not None:
            await ctx.services.records.restore(ctx.user_id, replaced.file["id"], now_iso(), replaced.name)
        elif replaced is not None:
            await ctx.services.folders.restore(
                ctx.user_id, replaced.folder_id, name=replaced.name, parent_id=replaced.parent_id, now=now_iso()
            )
    except Exception as error:
        # What is left is in the trash or deleted: the user finds it there, the reconciler purges.
        logger.warning("undoing a failed folder copy was incomplete (%s)", error)


async def _prepare(
    ctx: RequestContext, source: Target, destination_names: list[str], parent: str, *, move: bool, shallow: bool
) -> tuple[list[tuple[str, list[tuple[str, str, dict[str, Any]]]]], dict[str, Any] | None]:
    """What a COPY or MOVE will do, refused now if it cannot: a folder's tree must fit within
    paths.MAX_DEPTH at its destination; a copy's entries (COPY_LIMIT) and bytes (the quota) must
    fit too. (A folder copy's plan; a file copy's row, its size reserved.)"""
    if source.is_collection:
        levels = 1 + await ctx.services.folders.height(ctx.user_id, source.folder_id)
        if len(destination_names) - 1 + levels > paths.MAX_DEPTH:
            raise _problem(403, f"Folders nest at most {paths.MAX_DEPTH} deep")
        return ([] if move or shallow else await _plan_folder_copy(ctx, source.folder_id)), None
    if move:
        return [], None
    return [], await _reserve_copy(ctx, source.file, parent, destination_names[-1])


async def _move(ctx: RequestContext, source: Target, parent: str, name: str) -> None:
    now = now_iso()
    try:
        if source.file is not None:
            moved = await ctx.services.records.move(
                ctx.user_id, source.file["id"], filename=name, folder_id=parent, now=now
            )
            with contextlib.suppress(Exception):
                await ctx.services.cache.delete(cache_key(ctx.user_id, source.file["id"]))
        else:
            moved = await ctx.services.folders.update(
                ctx.user_id, source.folder_id, name=name, parent_id=parent, now=now
            )
    except NameTaken:
        raise _problem(412, "The destination was taken meanwhile") from None
    except NoSuchFolder:
        raise _problem(409, "The destination's parent collection does not exist") from None
    if not moved:
        raise _problem(409, "The source cannot move there (into itself, or deeper than folders nest)")


async def _reserve_copy(ctx: RequestContext, file: dict[str, Any], parent: str, name: str) -> dict[str, Any]:
    """The row a copy of `file` will be, its size reserved in the quota (413 when it has no room)."""
    row = new_row(
        ctx.user_id,
        filename=name,
        content_type=file["content_type"],
        size=file["size_bytes"],
        folder_id=parent,
        description=file.get("description"),
    )
    row["modified_at"] = file.get("modified_at")
    await quota.reserve(ctx.services, ctx.user_id, reservation_id=row["id"], file_id=row["id"], size=row["size_bytes"])
    return row


async def _copy_file(ctx: RequestContext, file: dict[str, Any], row: dict[str, Any]) -> None:
    """Streams the source's bytes from R2 into R2 as `row` (reserved) and registers it, with the
    source's dead properties."""
    piping = None
    try:
        source = await ctx.services.storage.get(file["r2_key"])
        if source is None:
            raise _problem(404, "The source's bytes are gone")
        body: Any = b""
        if row["size_bytes"]:
            fixed = js.FixedLengthStream.new(row["size_bytes"])
            body = fixed.readable
            piping = asyncio.ensure_future(source.body.pipeTo(fixed.writable))
        stored = await ctx.services.storage.put(
            row["r2_key"], body, content_type=row["content_type"], filename=row["filename"], user_id=ctx.user_id
        )
        if row["size_bytes"]:
            await piping
    except Problem:
        await quota.release(ctx.services, ctx.user_id, row["id"], row["size_bytes"])
        raise
    except BaseException as error:
        await quota.release(ctx.services, ctx.user_id, row["id"], row["size_bytes"])
        if piping is not None:
            # Nothing will read the copy's stream now: cancelled, it ends the pipe from the source.
            with contextlib.suppress(BaseException):
                await fixed.readable.cancel(js.Error.new("copy failed"))
            with contextlib.suppress(BaseException):
                await piping
        if isinstance(error, Exception):
            logger.exception("copying %s failed", file["r2_key"])
            raise unavailable("Storage") from None
        raise
    row["etag"], row["md5"] = stored.httpEtag, file.get("md5")
    copied = ctx.services.dav_properties.copy_statement(ctx.user_id, file_target(file["id"]), file_target(row["id"]))
    await register_file(ctx.services, row, public_view(row), reservation_id=row["id"], with_statements=[copied])


async def _plan_folder_copy(
    ctx: RequestContext, folder_id: str
) -> list[tuple[str, list[tuple[str, str, dict[str, Any]]]]]:
    """Every folder of the tree with its entries, when they number at most COPY_LIMIT (507
    otherwise) and their bytes fit the quota (413 otherwise): known before anything is copied."""
    plan, pending, total, size = [], [folder_id], 0, 0
    while pending:
        current = pending.pop()
        entries = await _children(ctx, current, COPY_LIMIT + 1)
        total += len(entries)
        if total > COPY_LIMIT:
            raise _problem(507, f"A folder copy creates at most {COPY_LIMIT} entries; copy its parts")
        plan.append((current, entries))
        pending += [row["id"] for kind, _, row in entries if kind == "folder"]
        size += sum(row["size_bytes"] for kind, _, row in entries if kind == "file")
    usage = await ctx.services.stats.usage(ctx.user_id, ctx.services.settings.quota)
    files = sum(kind == "file" for _, entries in plan for kind, _, _ in entries)
    if files > usage.get("remaining_files", 0):
        raise Problem(
            413, f"The copy needs {files} files; {usage.get('remaining_files', 0)} are left", title="Quota exceeded"
        )
    if size > usage.get("remaining_bytes", 0):
        raise Problem(
            413, f"The copy needs {size} bytes; {usage.get('remaining_bytes', 0)} are left", title="Quota exceeded"
        )
    return plan


async def _copy_folder(
    ctx: RequestContext,
    source: Target,
    parent: str,
    name: str,
    plan: list[tuple[str, list[tuple[str, str, dict[str, Any]]]]],
    created: dict[str, list[str]],
) -> None:
    """The folder, then the planned tree (empty for Depth 0), each entry noted in `created` as
    it is made (for the undo of a copy that fails half way)."""
    copies = {source.folder_id: await _create_folder(ctx, parent, name)}
    created["folders"].append(copies[source.folder_id])
    await ctx.services.database.batch(
        [
            ctx.services.dav_properties.copy_statement(
                ctx.user_id, folder_target(source.folder_id), folder_target(copies[source.folder_id])
            )
        ]
    )
    for folder_id, entries in plan:
        for kind, entry_name, row in entries:
            if kind == "folder":
                copies[row["id"]] = await _create_folder(ctx, copies[folder_id], entry_name)
                created["folders"].append(copies[row["id"]])
        for kind, entry_name, row in entries:
            if kind == "file":
                copy_row = await _reserve_copy(ctx, row, copies[folder_id], entry_name)
                await _copy_file(ctx, row, copy_row)
                created["files"].append(copy_row["id"])


_HANDLERS = {
    "LOCK": lock,
    "UNLOCK": unlock,
    "GET": get,
    "HEAD": get,
    "PROPFIND": propfind,
    "PROPPATCH": proppatch,
    "MKCOL": mkcol,
    "PUT": put,
    "DELETE": delete,
    "COPY": copy,
    "MOVE": move,
}

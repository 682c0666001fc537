"""/api/tus/: resumable uploads over tus 1.0 (core, creation, creation-with-upload,
termination, expiration, checksum), for tus-js-client, Uppy, tuspy and other tus clients.

An upload is a row of `uploads` (protocol 'tus') over an R2 multipart upload, with the same
quota reservation, claim and reconciler as the API's own multipart uploads (api/uploads.py).
A PATCH streams its bytes into R2 parts and temporary segments as domain/tus.plan_patch says,
recording each stored part (and the offset it reaches) in D1 as it goes, so a PATCH cut off
half way keeps every whole part it delivered. Each PATCH first takes the upload over (its
epoch): a request the client has given up on can commit nothing after a newer one began.
With Upload-Checksum the PATCH's bytes are digested as they pass and nothing is recorded
unless the digest agrees (460 otherwise; the offset stays).

The last PATCH completes the upload: the last part and the claim in one transaction, then R2
assembles the parts, the file's first bytes are checked against its type, and the file is
registered (queue, stats) like any other. If assembling fails the claim is undone and the
offset rolled back to the last part's start, so HEAD never reports a whole upload that is not
a file; the client sends that part again.
"""

import contextlib
import json
import logging
import time
import uuid
from typing import Any

import js
from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.files import live_folder, public_view
from edgefiles.api.responses import empty_response
from edgefiles.domain import multipart, tus, validation
from edgefiles.domain.clock import epoch_from_iso, iso_from_epoch, now_iso
from edgefiles.domain.files import object_key
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.domain.ranges import ByteRange
from edgefiles.domain.sniff import SNIFF_BYTES, matches_content
from edgefiles.services import quota
from edgefiles.services.chunk_writes import BodyCursor, BodyEnded, Superseded, write_piece
from edgefiles.services.ingest import register_file

logger = logging.getLogger(__name__)

# R2 aborts a multipart upload seven days after it began; a tus upload may be resumed for six,
# leaving the last day for a PATCH that began just before its expiry.
EXPIRY_SECONDS = 6 * 24 * 3600
MAX_SIZE = multipart.MAX_FILE_SIZE
DEFAULT_NAME = "upload"


def _headers(row: dict[str, Any], offset: int | None = None, interop: str | None = None) -> dict[str, str]:
    reached = row["offset_bytes"] if offset is None else offset
    headers = {"upload-offset": str(reached)}
    if row["status"] == "open" and row.get("expires_at"):
        headers["upload-expires"] = tus.http_date(epoch_from_iso(row["expires_at"]))
    if interop is not None:
        headers["upload-complete"] = "?1" if reached == row["size_bytes"] else "?0"
    return headers


def _header_problem(error: tus.TusHeaderError) -> Problem:
    return Problem(400, str(error))


def _require_version(ctx: RequestContext) -> str | None:
    """tus 1.0 (None) or the IETF draft's interop version the request speaks; 412 for neither."""
    interop = ctx.header("upload-draft-interop-version")
    if interop is not None:
        if interop.strip() not in tus.INTEROP_VERSIONS:
            raise Problem(400, f"Upload-Draft-Interop-Version must be one of {', '.join(tus.INTEROP_VERSIONS)}")
        return interop.strip()
    if ctx.header("tus-resumable") != tus.VERSION:
        raise Problem(412, f"Tus-Resumable must be {tus.VERSION}", headers={"tus-version": tus.VERSION})
    return None


async def options(ctx: RequestContext) -> Response:
    return empty_response(
        204,
        {
            "tus-version": tus.VERSION,
            "tus-extension": ",".join(tus.EXTENSIONS),
            "tus-max-size": str(MAX_SIZE),
            "tus-checksum-algorithm": ",".join(tus.CHECKSUM_ALGORITHMS),
        },
    )


async def create(ctx: RequestContext) -> Response:
    """Creation (and creation-with-upload: a body is the first PATCH's)."""
    interop = _require_version(ctx)
    if ctx.header("upload-defer-length") is not None:
        raise Problem(400, "Upload-Defer-Length is not supported: send Upload-Length (the quota needs the size)")
    try:
        size = tus.decimal(ctx.header("upload-length"), "Upload-Length")
        raw_metadata = ctx.header("upload-metadata")
        metadata = tus.parse_metadata(raw_metadata)
    except tus.TusHeaderError as error:
        raise _header_problem(error) from None
    if size > MAX_SIZE:
        raise Problem(413, f"Upload-Length is over Tus-Max-Size ({MAX_SIZE} bytes)")
    await ctx.services.rate_limits.check("upload", ctx.user_id)
    filename = validation.filename(metadata.get("filename") or metadata.get("name") or DEFAULT_NAME)
    declared_type = metadata.get("filetype") or metadata.get("type") or "application/octet-stream"
    content_type = validation.content_type(declared_type, ctx.services.settings.allowed_types)
    folder_id = await live_folder(ctx, metadata.get("folder_id"))
    description = validation.description(metadata.get("description"))
    upload_id, file_id, now = str(uuid.uuid4()), str(uuid.uuid4()), now_iso()
    row = {
        "id": upload_id,
        "user_id": ctx.user_id,
        "file_id": file_id,
        "r2_key": object_key(ctx.user_id, file_id, now),
        "filename": filename,
        "content_type": content_type,
        "size_bytes": size,
        "description": description,
        "folder_id": folder_id,
        "created_at": now,
        "protocol": "tus",
        "expires_at": iso_from_epoch(int(time.time()) + EXPIRY_SECONDS),
        "metadata": raw_metadata,
        "offset_bytes": 0,
        "segments": "[]",
        "status": "open",
    }
    location = {"location": f"/api/tus/{upload_id}"}
    if size == 0:
        await _create_empty(ctx, row)
        return empty_response(201, {**location, **_headers({**row, "status": "completed"}, 0, interop)})
    await _open(ctx, row)
    if not _has_body(ctx):
        return empty_response(201, {**location, **_headers(row, None, interop)})
    try:
        offset = await _patch(ctx, row, 0)
    except BaseException:
        # The creation's own bytes were refused or failed: the upload goes with them, so bad
        # input leaves nothing behind (nor quota held) and the client simply starts again. (If
        # D1 cannot close it now, it expires.)
        with contextlib.suppress(Exception):
            await _end(ctx, row)
        raise
    return empty_response(201, {**location, **_headers(row, offset, interop)})


def _has_body(ctx: RequestContext) -> bool:
    length = ctx.header("content-length")
    return (length is not None and length != "0") or ctx.header("transfer-encoding") is not None


async def _open(ctx: RequestContext, row: dict[str, Any]) -> None:
    """Reserves the quota, opens the R2 multipart upload and records it (api/uploads.py's story:
    each step undone if a later one fails)."""
    row["part_size"], row["part_count"] = multipart.plan(row["size_bytes"])
    await quota.reserve(
        ctx.services,
        ctx.user_id,
        reservation_id=row["id"],
        file_id=row["file_id"],
        size=row["size_bytes"],
        lease_seconds=quota.MULTIPART_LEASE_SECONDS,
    )
    try:
        row["r2_upload_id"] = await ctx.services.storage.create_multipart(
            row["r2_key"], content_type=row["content_type"], filename=row["filename"], user_id=ctx.user_id
        )
    except Exception:
        logger.exception("R2 createMultipartUpload failed")
        await quota.release(ctx.services, ctx.user_id, row["id"], row["size_bytes"])
        raise unavailable("Storage") from None
    try:
        await ctx.services.database.batch(
            [ctx.services.uploads.create_statement(row), quota.marker_settled(ctx.services, row["id"])]
        )
    except Exception:
        logger.exception("D1 insert of tus upload %s failed; aborting the R2 upload", row["id"])
        with contextlib.suppress(Exception):
            await ctx.services.storage.abort_multipart(row["r2_key"], row["r2_upload_id"])
        await quota.release(ctx.services, ctx.user_id, row["id"], row["size_bytes"])
        raise unavailable("The metadata store") from None
    row["epoch"] = 0


async def _create_empty(ctx: RequestContext, row: dict[str, Any]) -> None:
    """An empty file is complete as it is created: stored and registered at once, with its
    upload recorded as completed (HEAD answers offset 0 of 0)."""
    if not matches_content(row["content_type"], b""):
        raise Problem(415, f"An empty file is not {row['content_type']}")
    file = _file_row(ctx, row)
    await quota.reserve(ctx.services, ctx.user_id, reservation_id=file["id"], file_id=file["id"], size=0)
    try:
        await ctx.services.storage.put(
            file["r2_key"], b"", content_type=file["content_type"], filename=file["filename"], user_id=ctx.user_id
        )
    except Exception:
        logger.exception("R2 put of an empty tus upload failed")
        await quota.release(ctx.services, ctx.user_id, file["id"], 0)
        raise unavailable("Storage") from None
    await register_file(ctx.services, file, public_view(file), reservation_id=file["id"])
    row.update(r2_upload_id="", part_size=0, part_count=0, status="completed")
    try:
        await ctx.services.uploads.create(row)
    except Exception as error:
        # The file is stored; only HEAD on this upload would answer 404 (a client then asks anew).
        logger.warning("recording empty tus upload %s failed (%s)", row["id"], error)


def _file_row(ctx: RequestContext, upload: dict[str, Any]) -> dict[str, Any]:
    now = now_iso()
    return {
        "id": upload["file_id"],
        "user_id": upload["user_id"],
        "filename": upload["filename"],
        "r2_key": upload["r2_key"],
        "content_type": upload["content_type"],
        "size_bytes": upload["size_bytes"],
        "status": "pending",
        "created_at": now,
        "updated_at": now,
        "sha256": None,
        "description": upload["description"],
        "folder_id": upload["folder_id"],
    }


async def _upload(ctx: RequestContext, upload_id: str) -> dict[str, Any]:
    row = await ctx.services.uploads.get_any(ctx.user_id, upload_id, "tus")
    if row is None or row["status"] == "aborted":
        raise Problem(404, "No such upload")
    if row["status"] == "open" and row.get("expires_at") and row["expires_at"] <= now_iso():
        raise Problem(410, "This upload has expired")
    return row


async def head(ctx: RequestContext, upload_id: str) -> Response:
    interop = _require_version(ctx)
    row = await _upload(ctx, upload_id)
    offset = row["size_bytes"] if row["status"] == "completed" else row["offset_bytes"]
    headers = {**_headers(row, offset, interop), "upload-length": str(row["size_bytes"]), "cache-control": "no-store"}
    if row.get("metadata"):
        headers["upload-metadata"] = row["metadata"]
    return empty_response(200, headers)


async def patch(ctx: RequestContext, upload_id: str) -> Response:
    interop = _require_version(ctx)
    row = await _upload(ctx, upload_id)
    try:
        offset = tus.decimal(ctx.header("upload-offset"), "Upload-Offset")
    except tus.TusHeaderError as error:
        raise _header_problem(error) from None
    end = await _patch(ctx, row, offset)
    return empty_response(204, _headers(row, end, interop))


def _kept_until(offset: int) -> Problem:
    """503 for a PATCH storage failed: the bytes before `offset` are kept, the client goes on."""
    return Problem(
        503,
        f"Storage is temporarily unavailable; the upload keeps its first {offset} bytes. Resume from there.",
        headers={"upload-offset": str(offset)},
    )


def _superseded() -> Problem:
    return Problem(409, "A newer request took this upload over; ask HEAD for its offset")


def _mismatch(row: dict[str, Any], current: int) -> Problem:
    return Problem(
        409, f"Upload-Offset does not match the upload's offset ({current})", headers={"upload-offset": str(current)}
    )


async def _patch(ctx: RequestContext, row: dict[str, Any], offset: int) -> int:
    """Stores the request body at `offset`; the offset reached."""
    base_type = (ctx.header("content-type") or "").split(";")[0].strip().lower()
    interop = _require_version(ctx)
    if interop is None and base_type != tus.OFFSET_TYPE:
        raise Problem(415, f"Content-Type must be {tus.OFFSET_TYPE}")
    if interop == "6" and base_type not in (tus.PARTIAL_UPLOAD_TYPE, ""):
        raise Problem(415, f"Content-Type must be {tus.PARTIAL_UPLOAD_TYPE}")
    try:
        length = tus.decimal(ctx.header("content-length"), "Content-Length")
        checksum = tus.parse_checksum(ctx.header("upload-checksum"))
        complete = tus.structured_boolean(ctx.header("upload-complete"), "Upload-Complete")
    except tus.TusHeaderError as error:
        raise _header_problem(error) from None
    size = row["size_bytes"]
    if complete and offset + length != size:
        # The draft lets the last request name the length; here Upload-Length named it first. (A
        # request reaching the length with ?0 is fine: tus-js-client cannot know it is the last.)
        raise Problem(400, f"Upload-Complete says this is the end, but Upload-Length is {size} bytes")
    if row["status"] == "completed":
        if offset == size and length == 0:
            return size
        raise _mismatch(row, size)
    if offset != row["offset_bytes"]:
        raise _mismatch(row, row["offset_bytes"])
    if offset + length > size:
        raise Problem(413, f"The body would pass Upload-Length ({size} bytes)")
    epoch = await ctx.services.uploads.claim_writer(ctx.user_id, row["id"], offset, now_iso())
    if epoch is None:
        current = await ctx.services.uploads.get_any(ctx.user_id, row["id"], "tus")
        raise _mismatch(row, current["offset_bytes"] if current else offset)
    segments = tuple(tus.Segment.from_json(s) for s in json.loads(row["segments"]))
    plan = tus.plan_patch(
        size=size,
        part_size=row["part_size"],
        offset=offset,
        segments=segments,
        length=length,
        tail_key=f"{tus.segment_prefix(row['id'])}{epoch}-{offset}",
    )
    writer = PatchWriter(ctx, row, epoch, checksum)
    try:
        return await writer.run(plan)
    finally:
        await writer.cursor.release()


class PatchWriter:
    """One PATCH's writes and commits (see the module's docstring)."""

    def __init__(self, ctx: RequestContext, row: dict[str, Any], epoch: int, checksum: tuple[str, bytes] | None):
        self.ctx, self.row, self.epoch, self.checksum = ctx, row, epoch, checksum
        self.digest = js.crypto.DigestStream.new(_WEBCRYPTO_NAMES[checksum[0]]) if checksum else None
        self.digest_writer = self.digest.getWriter() if self.digest else None
        self.cursor = BodyCursor(ctx.request.body, self.digest_writer)
        self.unrecorded: list[tuple[int, str, int]] = []  # parts stored, waiting for the checksum
        self.offset = row["offset_bytes"]
        self.segments_after: tuple[tus.Segment, ...] = ()
        self.written_tail: str | None = None
        self.tail_recorded = False
        self.dropped: list[str] = []  # segments whose bytes are now in a recorded part or segment

    async def run(self, plan: tus.PatchPlan) -> int:
        storage, row = self.ctx.services.storage, self.row
        final: tuple[int, str, int] | None = None
        try:
            for part in plan.parts:
                etag = await write_piece(
                    storage,
                    lambda stream, n=part.number: storage.upload_part(row["r2_key"], row["r2_upload_id"], n, stream),
                    part.length,
                    part.segments,
                    self.cursor,
                    part.body_bytes,
                    self._still_writer,
                )
                stored = (part.number, etag, part.length)
                if part.end == row["size_bytes"]:
                    final = stored
                    break
                await self._record([stored], part.end, (), dropped=part.segments)
            if plan.tail is not None:
                tail = plan.tail
                await write_piece(
                    storage,
                    lambda stream: storage.put_segment(tail.segment.key, stream),
                    tail.segment.length,
                    tail.stitched,
                    self.cursor,
                    tail.body_bytes,
                    self._still_writer,
                )
                self.written_tail = tail.segment.key
                await self._record([], plan.end, plan.segments_after, dropped=tail.stitched)
        except BodyEnded:
            await self._forget_tail()
            raise Problem(400, "The request body ended before Content-Length bytes arrived") from None
        except Superseded:
            await self._forget_tail()
            raise _superseded() from None
        except Problem:
            await self._forget_tail()
            raise
        except Exception:
            logger.exception("tus PATCH of upload %s failed at offset %s", row["id"], self.offset)
            await self._forget_tail()
            raise _kept_until(self.offset) from None
        await self._verify_checksum()
        if final is not None:
            await self._complete(final)
            return row["size_bytes"]
        if self.unrecorded or self.checksum:
            await self._commit(plan.end, plan.segments_after)
        return plan.end

    async def _record(
        self, parts: list[tuple[int, str, int]], offset: int, segments: tuple[tus.Segment, ...], *, dropped: Any
    ) -> None:
        """Records progress now, or (with a checksum) once the digest agrees."""
        self.dropped += [s.key for s in dropped]
        if self.checksum:
            self.unrecorded += parts
            return
        await self._commit(offset, segments, parts)

    async def _commit(
        self, offset: int, segments: tuple[tus.Segment, ...], parts: list[tuple[int, str, int]] | None = None
    ) -> None:
        parts = self.unrecorded if parts is None else parts
        try:
            recorded = await self.ctx.services.uploads.commit_progress(
                self.row["id"], self.epoch, parts, offset, json.dumps([s.as_json() for s in segments]), now_iso()
            )
        except Exception:
            logger.exception("recording progress of tus upload %s failed", self.row["id"])
            raise unavailable("The metadata store") from None
        if not recorded:
            raise _superseded()
        self.offset, self.unrecorded = offset, []
        self.tail_recorded = self.written_tail is not None
        if self.dropped:
            self.ctx.after_response(_delete_segments(self.ctx, self.dropped))
            self.dropped = []

    async def _verify_checksum(self) -> None:
        if self.checksum is None:
            return
        await self.digest_writer.close()
        digest = (await self.digest.digest).to_bytes()
        if digest != self.checksum[1]:
            await self._forget_tail()
            raise Problem(
                460, "The body does not match Upload-Checksum; nothing of it was kept", title="Checksum Mismatch"
            )

    async def _still_writer(self) -> bool:
        return await self.ctx.services.uploads.writer_epoch(self.row["id"]) == self.epoch

    async def _forget_tail(self) -> None:
        """A segment this PATCH wrote but could not record holds nothing anyone will read."""
        if self.written_tail is not None and not self.tail_recorded:
            await _delete_segments(self.ctx, [self.written_tail])

    async def _complete(self, final: tuple[int, str, int]) -> None:
        ctx, row = self.ctx, self.row
        marker_expires = iso_from_epoch(int(time.time()) + quota.REQUEST_LEASE_SECONDS)
        try:
            claimed = await ctx.services.uploads.claim_final(
                row["id"], self.epoch, [*self.unrecorded, final], row["size_bytes"], now_iso(), marker_expires
            )
        except Exception:
            logger.exception("claiming tus upload %s failed", row["id"])
            raise unavailable("The metadata store") from None
        if not claimed:
            raise _superseded()
        parts = await ctx.services.uploads.parts(row["id"])
        last_start = row["part_size"] * (row["part_count"] - 1)
        try:
            await ctx.services.storage.complete_multipart(
                row["r2_key"], row["r2_upload_id"], [{"partNumber": p["part_number"], "etag": p["etag"]} for p in parts]
            )
        except Exception as error:
            logger.exception("R2 complete of tus upload %s failed", row["id"])
            # A part R2 does not have as recorded (code 10025) cannot be told from the others:
            # the upload starts over rather than never finishing. Anything else: the last part.
            lost = "10025" in str(error) or "could not be found" in str(error)
            back, first_dropped = (0, 1) if lost else (last_start, row["part_count"])
            with contextlib.suppress(Exception):
                await ctx.services.uploads.reopen_at(row["id"], back, first_dropped, now_iso())
            raise _kept_until(back) from None
        await _check_type(ctx, row)
        file = _file_row(ctx, row)
        try:
            await register_file(ctx.services, file, public_view(file), reservation_id=row["id"])
        except Problem:
            with contextlib.suppress(Exception):
                await ctx.services.uploads.mark_aborted(row["id"], now_iso())
            raise
        ctx.after_response(_delete_prefix(ctx, tus.segment_prefix(row["id"])))


_WEBCRYPTO_NAMES = {"sha1": "SHA-1", "sha256": "SHA-256", "md5": "MD5"}


async def _check_type(ctx: RequestContext, row: dict[str, Any]) -> None:
    """The assembled file's first bytes against its type; 415 (and nothing kept) if they differ."""
    if row["content_type"] == "application/octet-stream":
        return
    first = ByteRange(0, min(SNIFF_BYTES, row["size_bytes"]) - 1)
    head = await ctx.services.storage.get(row["r2_key"], byte_range=first)
    data = b"" if head is None else (await js.Response.new(head.body).arrayBuffer()).to_bytes()
    if matches_content(row["content_type"], data):
        return
    with contextlib.suppress(Exception):
        await ctx.services.storage.delete(row["r2_key"])
    with contextlib.suppress(Exception):
        await ctx.services.uploads.mark_aborted(row["id"], now_iso())
    await quota.release(ctx.services, ctx.user_id, row["id"], row["size_bytes"])
    ctx.after_response(_delete_prefix(ctx, tus.segment_prefix(row["id"])))
    raise Problem(415, f"The file's first bytes are not those of {row['content_type']}")


async def terminate(ctx: RequestContext, upload_id: str) -> Response:
    """Termination: the upload closes, its parts and segments go, its reservation is released."""
    _require_version(ctx)
    row = await ctx.services.uploads.get_any(ctx.user_id, upload_id, "tus")
    if row is None or row["status"] != "open" or not await _end(ctx, row):
        raise Problem(404, "No such upload in progress")
    return empty_response(204)


async def _end(ctx: RequestContext, row: dict[str, Any]) -> bool:
    """Closes an open upload as aborted, then drops its parts and segments and releases its
    reservation; False when it was not open (completed or ended by another request)."""
    try:
        if not await ctx.services.uploads.close(row["id"], "aborted", now_iso()):
            return False
    except Exception:
        logger.exception("closing tus upload %s failed", row["id"])
        raise unavailable("The metadata store") from None
    try:
        await ctx.services.storage.abort_multipart(row["r2_key"], row["r2_upload_id"])
    except Exception:
        logger.exception("R2 abort of tus upload %s failed", row["id"])  # R2 drops it after 7 days
    await quota.release(ctx.services, row["user_id"], row["id"], row["size_bytes"])
    ctx.after_response(_delete_prefix(ctx, tus.segment_prefix(row["id"])))
    return True


async def method_override(ctx: RequestContext, upload_id: str) -> Response:
    """X-HTTP-Method-Override, for clients behind proxies that pass only GET and POST."""
    override = (ctx.header("x-http-method-override") or "").upper()
    handlers = {"PATCH": patch, "DELETE": terminate, "HEAD": head}
    if override not in handlers:
        raise Problem(405, "POST here needs X-HTTP-Method-Override: PATCH, DELETE or HEAD")
    return await handlers[override](ctx, upload_id)


async def _delete_segments(ctx: RequestContext, keys: list[str]) -> None:
    if not keys:
        return
    try:
        await ctx.services.storage.delete_many(keys)
    except Exception as error:
        # Left under tus/<upload>/: deleted when the upload completes, ends or expires.
        logger.warning("deleting %d tus segment(s) failed (%s)", len(keys), error)


async def _delete_prefix(ctx: RequestContext, prefix: str) -> None:
    try:
        keys, _ = await ctx.services.storage.list_after(prefix, "")
        await ctx.services.storage.delete_many([key for key, _ in keys])
    except Exception as error:
        logger.warning("deleting the segments under %s failed (%s); the reconciler retries", prefix, error)

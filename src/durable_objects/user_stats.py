"""UserStats: one Durable Object per user, counting that user's uploads and pushing each change
to the user's open clients.

Storage is the object's own SQLite database. Each upload is a row keyed by file id, so recording
the same upload twice (a retried request, a redelivered message) counts it once. The totals are
kept beside the rows and changed in the same transaction as the rows, so reading them costs the
same for ten files or ten million (a COUNT over the rows would not).

The reconciler repairs an object that disagrees with D1 a page at a time (`replace_range`): each
page replaces the rows in one range of file ids with D1's, so a rebuild spans as many runs as it
needs and no call carries more than a page.

Events live here too (one object per user already sees every upload and delete, so the upload
and delete paths notify it with the RPC they already make; the consumer adds one per file). The
object holds the user's WebSockets through the Hibernation API (`ctx.acceptWebSocket`): it can
leave memory between events while the sockets stay open, and a keep-alive "ping" is answered
"pong" without waking it. Each event gets the next sequence number of the user's stream and is
kept in a bounded backlog in SQLite, so a client that reconnects with the last number it saw
gets what it missed, or a `resync` event when that has left the backlog. Sockets are opened with
single-use tickets the object itself issues and redeems (`issue_ticket`, `fetch`).
"""

import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from js import Object, WebSocketPair, WebSocketRequestResponsePair
from pyodide.ffi import to_js
from workers import DurableObject, Response

from durable_objects.dav_locks import DavLocks
from durable_objects.ledger import Ledger

# Events kept for clients that reconnect; older ones get a `resync` instead.
EVENT_BACKLOG = 1000
EVENTS_TAG = "events"
# Event streams one user may hold at once (tabs, devices); opening another closes the oldest.
# MAX_EVENT_STREAMS (a var) may change it (the benchmark holds 1,000 on one object).
MAX_SOCKETS_PER_USER = 50

# Sorts after every file id (UUIDs): the upper bound of the last page of a rebuild.
_AFTER_EVERY_ID = "\uffff"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS uploads (
        file_id TEXT PRIMARY KEY,
        size_bytes INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        uploaded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )""",
    "CREATE INDEX IF NOT EXISTS uploads_by_time ON uploads (uploaded_at)",
    """CREATE TABLE IF NOT EXISTS totals (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        upload_count INTEGER NOT NULL,
        total_bytes INTEGER NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS type_counts (content_type TEXT PRIMARY KEY, n INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        body TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS tickets (ticket TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)",
    # Files deleted before their upload was counted (a WebDAV PUT replacing a file whose own
    # registration is still on its way here): the late count is then not made.
    "CREATE TABLE IF NOT EXISTS uncounted (file_id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
)
# How long a deletion waits for the count it cancels.
UNCOUNTED_MS = 24 * 3600 * 1000


class UserStats(DurableObject):
    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self._storage = ctx.storage
        self._sql = ctx.storage.sql
        self._ledger = Ledger(self._sql)
        self._locks = DavLocks(self._sql)
        self._storage.transactionSync(self._migrate)
        # Keep-alives answered by the runtime, without waking the object (or billing for it).
        ctx.setWebSocketAutoResponse(WebSocketRequestResponsePair.new("ping", "pong"))

    def _migrate(self) -> None:
        for statement in _SCHEMA:
            self._sql.exec(statement)
        self._ledger.migrate()
        self._locks.migrate()
        if not self._sql.exec("SELECT 1 FROM totals").toArray():
            self._derive_totals()  # an object from before the totals existed, once

    def _derive_totals(self) -> None:
        """The totals from the rows (one pass over them)."""
        self._sql.exec("DELETE FROM totals")
        self._sql.exec(
            "INSERT INTO totals (id, upload_count, total_bytes)"
            " SELECT 1, COUNT(*), COALESCE(SUM(size_bytes), 0) FROM uploads"
        )
        self._sql.exec("DELETE FROM type_counts")
        self._sql.exec(
            "INSERT INTO type_counts (content_type, n) SELECT content_type, COUNT(*) FROM uploads GROUP BY content_type"
        )

    def _count(self, content_type: str, files: int, size_bytes: int) -> None:
        self._sql.exec(
            "UPDATE totals SET upload_count = upload_count + ?, total_bytes = total_bytes + ? WHERE id = 1",
            files,
            size_bytes,
        )
        self._sql.exec(
            "INSERT INTO type_counts (content_type, n) VALUES (?, ?)"
            " ON CONFLICT (content_type) DO UPDATE SET n = n + excluded.n",
            content_type,
            files,
        )
        self._sql.exec("DELETE FROM type_counts WHERE n <= 0")

    def record_upload(
        self,
        file_id: str,
        size_bytes: int,
        content_type: str,
        view: dict[str, Any] | None = None,
        reservation_id: str | None = None,
        file_request_id: str | None = None,
    ) -> bool:
        """Counts an upload once; answers whether it was new. Its quota reservation (if any)
        becomes the counted file in the same transaction. With the file's public `view`, a new
        upload is also published (`file.created`, then `stats.updated`)."""

        def record() -> bool:
            if self._sql.exec("DELETE FROM uncounted WHERE file_id = ? RETURNING file_id", file_id).toArray():
                # Deleted already (replaced before this count arrived): its reservation goes.
                if reservation_id is not None:
                    self._ledger.release([reservation_id])
                return False
            cursor = self._sql.exec(
                "INSERT OR IGNORE INTO uploads (file_id, size_bytes, content_type) VALUES (?, ?, ?)",
                file_id,
                size_bytes,
                content_type,
            )
            if cursor.rowsWritten == 0:
                if reservation_id is not None:
                    self._ledger.release([reservation_id])
                return False
            self._count(content_type, 1, size_bytes)
            if reservation_id is not None:
                self._ledger.settle(reservation_id, file_request_id)
            return True

        new = self._storage.transactionSync(record)
        if new and view is not None:
            self._publish("file.created", file=dict(view))
            self._publish("stats.updated", stats=self.stats())
        return new

    def _uncount(self, file_id: str) -> bool:
        """Uncounts a file; one not counted yet is remembered, so its count is not made later."""
        removed = self._sql.exec(
            "DELETE FROM uploads WHERE file_id = ? RETURNING size_bytes, content_type", file_id
        ).toArray()
        for row in removed:
            self._count(row["content_type"], -1, -row["size_bytes"])
        if not removed:
            now = _now_ms()
            self._sql.exec("DELETE FROM uncounted WHERE at < ?", now - UNCOUNTED_MS)
            self._sql.exec("INSERT OR IGNORE INTO uncounted (file_id, at) VALUES (?, ?)", file_id, now)
        return bool(removed)

    def record_delete(self, file_id: str) -> bool:
        def record() -> bool:
            return self._uncount(file_id)

        removed = self._storage.transactionSync(record)
        if removed:
            self._publish("file.deleted", file={"id": file_id})
            self._publish("stats.updated", stats=self.stats())
        return removed

    def record_deletes(self, file_ids: list[str]) -> int:
        """record_delete for many files (the reconciler's purge of expired trash), with one
        stats event; answers how many were counted."""
        ids = [str(i) for i in file_ids]

        def record() -> int:
            return sum(self._uncount(file_id) for file_id in ids)

        removed = self._storage.transactionSync(record)
        for file_id in ids:
            self._publish("file.deleted", file={"id": file_id})
        if removed:
            self._publish("stats.updated", stats=self.stats())
        return removed

    # -- WebDAV locks (durable_objects/dav_locks.py) -----------------------------------------

    def dav_lock(self, lock: dict[str, Any]) -> dict[str, Any]:
        return self._storage.transactionSync(lambda: self._locks.lock(dict(lock), _now_ms()))

    def dav_covering(self, path: str) -> list[dict[str, Any]]:
        return self._locks.covering(str(path), _now_ms())

    def dav_touching(self, path: str) -> list[dict[str, Any]]:
        return self._locks.touching(str(path), _now_ms())

    def dav_refresh(self, tokens: list[str], path: str, timeout_seconds: int) -> dict[str, Any] | None:
        return self._storage.transactionSync(
            lambda: self._locks.refresh([str(t) for t in tokens], str(path), int(timeout_seconds), _now_ms())
        )

    def dav_unlock(self, token: str, path: str) -> bool:
        return self._storage.transactionSync(lambda: self._locks.unlock(str(token), str(path), _now_ms()))

    def dav_forget(self, path: str) -> int:
        return self._storage.transactionSync(lambda: self._locks.forget(str(path)))

    def file_trashed(self, file_id: str) -> int:
        """Publishes that a file moved to the trash (it still counts: its bytes are stored)."""
        return self._publish("file.trashed", file={"id": file_id})

    def file_restored(self, view: dict[str, Any]) -> int:
        return self._publish("file.restored", file=dict(view))

    def files_updated(self, views: list[dict[str, Any]]) -> int:
        """file_updated for several files (the consumer's finished files of one batch)."""
        seq = 0
        for view in views:
            seq = self._publish("file.updated", file=dict(view))
        return seq

    def file_updated(self, view: dict[str, Any]) -> int:
        """Publishes a file's new state (`file.updated`: its status, with the analysis or the
        error); answers the event's sequence number."""
        return self._publish("file.updated", file=dict(view))

    def issue_ticket(self, ticket: str, expires_at_ms: int) -> None:
        """Remembers a ticket that opens one event stream until it expires (single use)."""
        now = int(time.time() * 1000)
        self._sql.exec("DELETE FROM tickets WHERE expires_at <= ?", now)
        self._sql.exec("INSERT OR REPLACE INTO tickets (ticket, expires_at) VALUES (?, ?)", ticket, expires_at_ms)

    def _redeem(self, ticket: str) -> bool:
        now = int(time.time() * 1000)
        used = self._sql.exec(
            "DELETE FROM tickets WHERE ticket = ? AND expires_at > ? RETURNING ticket", ticket, now
        ).toArray()
        return bool(used)

    def _publish(self, kind: str, **fields: Any) -> int:
        event = {"type": kind, **fields, "at": datetime.now(UTC).isoformat(timespec="milliseconds")}
        seq = self._sql.exec("INSERT INTO events (body) VALUES (?) RETURNING seq", json.dumps(event)).one()["seq"]
        self._sql.exec("DELETE FROM events WHERE seq <= ?", seq - EVENT_BACKLOG)
        message = json.dumps({"seq": seq, **event})
        for ws in self.ctx.getWebSockets(EVENTS_TAG):
            # A socket closing right now misses nothing: its client reconnects and replays.
            with contextlib.suppress(Exception):
                ws.send(message)
        return seq

    def _replay(self, ws: Any, since: int) -> None:
        """What a reconnecting client missed after `since`, or `resync` if that is gone."""
        bounds = self._sql.exec("SELECT MIN(seq) AS first, MAX(seq) AS last FROM events").one()
        first, last = bounds["first"], bounds["last"]
        if last is None or since == last:
            return
        if since > last or since < first - 1:
            ws.send(json.dumps({"type": "resync", "seq": last}))
            return
        for row in self._sql.exec("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq", since).toArray():
            ws.send(json.dumps({"seq": row["seq"], **json.loads(row["body"])}))

    def _open_stream(self, request: Any) -> Response:
        params = parse_qs(urlparse(request.url).query)
        if not self._redeem((params.get("ticket") or [""])[0]):
            body = {
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "detail": "This event ticket is not valid: it was used, has expired or was never issued",
            }
            return Response(json.dumps(body), status=401, headers={"content-type": "application/problem+json"})
        # A bounded number per user: each open socket gets every event, so a client that leaks
        # sockets must not grow the object's work without limit. The oldest make room.
        open_sockets = list(self.ctx.getWebSockets(EVENTS_TAG))
        opened = sorted(open_sockets, key=_opened_at)
        limit = _whole_number(getattr(self.env, "MAX_EVENT_STREAMS", None)) or MAX_SOCKETS_PER_USER
        for stale in opened[: max(0, len(opened) - limit + 1)]:
            with contextlib.suppress(Exception):
                stale.close(1008, "too many event streams for this user")
        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server, to_js([EVENTS_TAG]))
        server.serializeAttachment(to_js({"opened": int(time.time() * 1000)}, dict_converter=Object.fromEntries))
        since = (params.get("since") or [""])[0]
        if since.isascii() and since.isdigit() and len(since) <= 18:
            self._replay(server, int(since))
        return Response(None, status=101, web_socket=client)

    # No webSocketMessage handler, on purpose: clients only listen, and their keep-alive is answered
    # without waking the object. A handler would receive each message as a Python str, so one
    # 32 MiB message (the most Cloudflare delivers) of 4-byte characters would take the isolate
    # over its 128 MB; without one, workerd drops the message before any conversion.

    async def webSocketClose(self, ws: Any, code: int, reason: str, was_clean: bool) -> None:
        """Nothing to do: the runtime answers the close frame, and the socket leaves getWebSockets."""

    def replace_range(self, after: str, upto: str | None, files: list[dict[str, Any]], as_of: str) -> int:
        """Makes the rows with `after` < file_id <= `upto` (no upper bound when `upto` is None)
        what D1 held at `as_of`: `files` ([{file_id, size_bytes, content_type, created_at}], as the
        reconciler read them then). Rows recorded since `as_of` (uploads that landed after the
        page was read) are kept. The totals change by the difference, and the last page (`upto`
        None) re-derives them from the rows, so a rebuild ends consistent whatever the object
        held. A page is a handful of statements (json_each), not one per file. Returns the rows
        removed."""
        upper = _AFTER_EVERY_ID if upto is None else upto
        page = json.dumps([[f["file_id"], f["size_bytes"], f["content_type"], f["created_at"]] for f in files])
        in_range = "file_id > ? AND file_id <= ? AND uploaded_at < ?"

        def replace() -> int:
            removed = self._sql.exec(
                "SELECT content_type, COUNT(*) AS n, SUM(size_bytes) AS bytes FROM uploads WHERE "  # noqa: S608
                + in_range
                + " GROUP BY content_type",
                after,
                upper,
                as_of,
            ).toArray()
            self._sql.exec("DELETE FROM uploads WHERE " + in_range, after, upper, as_of)  # noqa: S608
            new = (
                " FROM json_each(?) WHERE NOT EXISTS"
                " (SELECT 1 FROM uploads WHERE file_id = json_extract(value, '$[0]'))"
            )
            added = self._sql.exec(
                "SELECT json_extract(value, '$[2]') AS content_type, COUNT(*) AS n,"
                " SUM(json_extract(value, '$[1]')) AS bytes" + new + " GROUP BY 1",
                page,
            ).toArray()
            self._sql.exec(
                "INSERT INTO uploads (file_id, size_bytes, content_type, uploaded_at)"
                " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),"
                " json_extract(value, '$[3]')" + new,
                page,
            )
            self._ledger.release_files(page)
            for row in removed:
                self._count(row["content_type"], -row["n"], -row["bytes"])
            for row in added:
                self._count(row["content_type"], row["n"], row["bytes"])
            if upto is None:
                self._derive_totals()
            return sum(row["n"] for row in removed)

        return self._storage.transactionSync(replace)

    def stats(self) -> dict[str, Any]:
        totals = self._totals()
        last = self._sql.exec("SELECT MAX(uploaded_at) AS at FROM uploads").one()
        by_type = self._sql.exec("SELECT content_type, n FROM type_counts ORDER BY content_type").toArray()
        return {
            "upload_count": totals[0],
            "total_bytes": totals[1],
            "last_upload_at": last["at"],
            "by_content_type": {row["content_type"]: row["n"] for row in by_type},
        }

    def _totals(self) -> tuple[int, int]:
        totals = self._sql.exec("SELECT upload_count, total_bytes FROM totals WHERE id = 1").one()
        return totals["upload_count"], totals["total_bytes"]

    # -- the ledger (durable_objects/ledger.py): quota, link downloads, file requests, AI budget --
    # `defaults` arrive as three numbers (the Worker's vars): bytes, files, AI calls a day.

    def usage(self, max_bytes: int, max_files: int, ai_daily_calls: int) -> dict[str, Any]:
        defaults = _defaults(max_bytes, max_files, ai_daily_calls)
        usage = self._ledger.usage(*self._totals(), defaults, _now_ms())
        return {**usage, "ai_daily_calls": self._ledger.limits(defaults)["ai_daily_calls"]}

    def reserve(
        self,
        reservation_id: str,
        file_id: str,
        size_bytes: int,
        expires_at_ms: int,
        file_request_id: str | None,
        request_max_files: int | None,
        max_bytes: int,
        max_files: int,
        ai_daily_calls: int,
    ) -> dict[str, Any]:
        reservation = {
            "id": reservation_id,
            "file_id": file_id,
            "size_bytes": size_bytes,
            "expires_at": expires_at_ms,
            "file_request_id": file_request_id,
        }
        defaults = _defaults(max_bytes, max_files, ai_daily_calls)
        return self._storage.transactionSync(
            lambda: self._ledger.reserve(reservation, self._totals(), defaults, _now_ms(), request_max_files)
        )

    def release(self, reservation_ids: list[str]) -> int:
        ids = [str(i) for i in reservation_ids]
        return self._storage.transactionSync(lambda: self._ledger.release(ids))

    def set_limits(self, max_bytes: int | None, max_files: int | None, ai_daily_calls: int | None) -> None:
        self._ledger.set_limits(max_bytes, max_files, ai_daily_calls)

    def claim_download(self, link_id: str, max_downloads: int | None, now: str) -> dict[str, Any]:
        return self._storage.transactionSync(lambda: self._ledger.claim_download(link_id, max_downloads, now))

    def link_usage(self, link_ids: list[str]) -> dict[str, Any]:
        return self._ledger.link_usage([str(i) for i in link_ids])

    def files_received(self, request_ids: list[str]) -> dict[str, int]:
        return self._ledger.received([str(i) for i in request_ids])

    def begin_password_attempt(
        self, attempt: str, keys: list[str], limits: list[int], tries: int, window_ms: int
    ) -> bool:
        by_key = dict(zip([str(k) for k in keys], [int(n) for n in limits], strict=True))
        return self._storage.transactionSync(
            lambda: self._ledger.begin_password_attempt(attempt, by_key, tries, _now_ms(), window_ms)
        )

    def end_password_attempt(self, attempt: str, right: bool) -> None:
        self._ledger.end_password_attempt(attempt, right)

    def charge_ai_many(
        self,
        keys: list[str],
        calls: list[int],
        pools: list[str],
        day: str,
        max_bytes: int,
        max_files: int,
        ai_daily_calls: int,
    ) -> list[bool]:
        """charge_ai for several works in one transaction (the consumer's files of one batch)."""
        defaults = _defaults(max_bytes, max_files, ai_daily_calls)
        items = list(zip([str(k) for k in keys], [int(c) for c in calls], [str(p) for p in pools], strict=True))

        def charge() -> list[bool]:
            return [bool(self._ledger.charge_ai(key, n, day, defaults, pool)["ok"]) for key, n, pool in items]

        return self._storage.transactionSync(charge)

    def charge_ai(
        self, key: str, calls: int, day: str, pool: str, max_bytes: int, max_files: int, ai_daily_calls: int
    ) -> dict[str, Any]:
        defaults = _defaults(max_bytes, max_files, ai_daily_calls)
        return self._storage.transactionSync(lambda: self._ledger.charge_ai(key, calls, day, defaults, pool))

    async def fetch(self, request: Any) -> Response:
        """GET /api/events (a WebSocket upgrade forwarded by the Worker); GET /stats for callers
        that predate RPC."""
        path = urlparse(request.url).path
        if path == "/api/events":
            return self._open_stream(request)
        if path != "/stats":
            return Response("not found", status=404)
        return Response(json.dumps(self.stats()), headers={"content-type": "application/json"})


def _defaults(max_bytes: int, max_files: int, ai_daily_calls: int) -> dict[str, int]:
    return {"bytes": int(max_bytes), "files": int(max_files), "ai_daily_calls": int(ai_daily_calls)}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _opened_at(ws: Any) -> int:
    attachment = ws.deserializeAttachment()
    return attachment.opened if attachment is not None else 0


def _whole_number(value: Any) -> int | None:
    text = str(value) if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None

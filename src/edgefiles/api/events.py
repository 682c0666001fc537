"""/api/events: the caller's changes pushed as they happen, over a WebSocket held by their
UserStats Durable Object (src/durable_objects/user_stats.py).

A browser cannot set an Authorization header on a WebSocket and a key must never sit in a URL,
so a client first asks for a ticket with its key (`POST /api/events/tickets`) and opens
`GET /api/events?ticket=...` within a minute; the object accepts each ticket once. A ticket
that is malformed, used, expired or never issued is refused with 401 before any upgrade.
`since=<seq>` replays what the client missed (or sends `resync`).

The same events come as Server-Sent Events for clients without WebSockets (`Accept:
text/event-stream`, e.g. an EventSource, which sends `Last-Event-ID` when it reconnects): the
Worker opens a WebSocket to the user's object itself and writes each message to the response as
an event whose id is its sequence number. The object stays hibernatable; only this request holds
the stream open."""

import asyncio
import contextlib
import json
import time
from typing import Any

from js import Object, Request, TextEncoder, TransformStream
from pyodide.ffi import create_proxy, to_js
from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.responses import json_response
from edgefiles.domain.clock import iso_from_epoch
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.domain.tickets import TICKET_SECONDS, new_ticket, ticket_owner

KEEP_ALIVE_SECONDS = 25
_BAD_TICKET = "This event ticket is not valid: it was used, has expired or was never issued"


async def create_ticket(ctx: RequestContext) -> Response:
    ticket = new_ticket(ctx.user_id)
    expires = int(time.time()) + TICKET_SECONDS
    try:
        await ctx.services.stats.issue_ticket(ctx.user_id, ticket, expires * 1000)
    except Exception:
        raise unavailable("The event service") from None
    body = {"ticket": ticket, "expires_at": iso_from_epoch(expires), "url": f"/api/events?ticket={ticket}"}
    return json_response(body, 201)


async def open_events(ctx: RequestContext) -> Response:
    owner = ticket_owner(ctx.query.get("ticket") or "")
    if owner is None:
        raise Problem(401, _BAD_TICKET)
    if "text/event-stream" in (ctx.request.headers.get("accept") or ""):
        return await _event_stream(ctx, owner)
    if (ctx.request.headers.get("upgrade") or "").lower() != "websocket":
        raise Problem(426, "GET /api/events is a WebSocket (or, with Accept: text/event-stream, an SSE) endpoint")
    answer = await ctx.services.stats.open_stream(owner, ctx.request)
    if answer.status != 101:
        raise Problem(401, _BAD_TICKET)
    # A new Response around the object's socket: the one a stub returns may have immutable headers.
    return Response(None, status=101, web_socket=answer.js_object.webSocket)


async def _event_stream(ctx: RequestContext, owner: str) -> Response:
    url = ctx.request.url
    resumed = ctx.request.headers.get("last-event-id") or ""
    if resumed.isascii() and resumed.isdigit() and len(resumed) <= 18 and "since=" not in url:
        url += f"&since={resumed}"
    upgrade = Request.new(url, to_js({"headers": {"upgrade": "websocket"}}, dict_converter=Object.fromEntries))
    answer = await ctx.services.stats.open_stream(owner, upgrade)
    if answer.status != 101:
        raise Problem(401, _BAD_TICKET)
    socket = answer.js_object.webSocket
    socket.accept()
    stream = TransformStream.new()
    messages: asyncio.Queue[str | None] = asyncio.Queue()

    def on_message(event: Any) -> None:
        if isinstance(event.data, str):
            messages.put_nowait(event.data)

    listeners = [create_proxy(on_message), create_proxy(lambda _: messages.put_nowait(None))]
    socket.addEventListener("message", listeners[0])
    socket.addEventListener("close", listeners[1])
    ctx.after_response(_pump(stream.writable.getWriter(), messages, socket, listeners))
    headers = {"content-type": "text/event-stream", "cache-control": "no-store"}
    return Response(stream.readable, headers=headers)


async def _pump(writer: Any, messages: "asyncio.Queue[str | None]", socket: Any, listeners: list[Any]) -> None:
    """Writes each event to the SSE body until the client goes away (a write is refused) or the
    object closes the socket. A comment every KEEP_ALIVE_SECONDS finds clients that left while
    nothing happened, so their sockets do not stay open."""
    encoder = TextEncoder.new()
    try:
        await writer.write(encoder.encode(": connected\n\n"))
        while True:
            try:
                data = await asyncio.wait_for(messages.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                await writer.write(encoder.encode(": keep-alive\n\n"))
                continue
            if data is None:
                break
            seq = json.loads(data).get("seq")
            event = f"id: {seq}\ndata: {data}\n\n" if isinstance(seq, int) else f"data: {data}\n\n"
            await writer.write(encoder.encode(event))
    except Exception:  # noqa: S110 - the client went away: its write was refused; nothing is lost
        pass
    finally:
        for listener in listeners:
            listener.destroy()
        with contextlib.suppress(Exception):
            socket.close(1000, "")
        with contextlib.suppress(Exception):
            await writer.close()

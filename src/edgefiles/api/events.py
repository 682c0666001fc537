"""/api/events: the caller's changes pushed as they happen, over a WebSocket held by their
UserStats Durable Object (src/durable_objects/user_stats.py).

A browser cannot set an Authorization header on a WebSocket and a key must never sit in a URL,
so a client first asks for a ticket with its key (`POST /api/events/tickets`) and opens
`GET /api/events?ticket=...` within a minute; the object accepts each ticket once. A ticket
that is malformed, used, expired or never issued is refused with 401 before any upgrade.
`since=<seq>` replays what the client missed (or sends `resync`)."""

import time

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.responses import json_response
from edgefiles.domain.clock import iso_from_epoch
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.domain.tickets import TICKET_SECONDS, new_ticket, ticket_owner

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
    if (ctx.request.headers.get("upgrade") or "").lower() != "websocket":
        raise Problem(426, "GET /api/events is a WebSocket endpoint: send Upgrade: websocket")
    answer = await ctx.services.stats.open_stream(owner, ctx.request)
    if answer.status != 101:
        raise Problem(401, _BAD_TICKET)
    # A new Response around the object's socket: the one a stub returns may have immutable headers.
    return Response(None, status=101, web_socket=answer.js_object.webSocket)

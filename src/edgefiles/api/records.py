"""What share links and file requests have in common: each is a D1 row that the user creates and
revokes, and each change is written with its audit event in one transaction."""

import logging
from typing import Any

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.responses import empty_response
from edgefiles.domain.clock import now_iso
from edgefiles.domain.problems import Problem, unavailable

logger = logging.getLogger(__name__)


async def create_with_audit(ctx: RequestContext, insert: Any, action: str, record_id: str, detail: dict) -> None:
    """Inserts the record and its `action` event in one batch; 503 if D1 refuses."""
    try:
        await ctx.services.database.batch(
            [insert, ctx.services.audit.statement(ctx.user_id, "user", action, record_id, detail, ctx.request_id)]
        )
    except Exception:
        logger.exception("%s %s: writing it failed", action, record_id)
        raise unavailable("The metadata store") from None


async def revoke_with_audit(
    ctx: RequestContext, revoke: Any, action: str, table: str, record_id: str, missing: str
) -> Response:
    """Runs `revoke` (an UPDATE ... SET revoked_at = `now` ... RETURNING id, built by the caller's
    store with `now`) and records `action` only if it revoked the row: 204, or 404 `missing`."""
    now = now_iso()
    audit = ctx.services.audit.statement(
        ctx.user_id, "user", action, record_id, None, ctx.request_id, when=(table, record_id, now)
    )
    try:
        revoked, _ = await ctx.services.database.batch([revoke(now), audit])
    except Exception:
        logger.exception("%s %s: writing it failed", action, record_id)
        raise unavailable("The metadata store") from None
    if not revoked.results:
        raise Problem(404, missing)
    return empty_response(204)


async def counts(load: Any, what: str) -> dict[str, Any]:
    """Counts kept in the owner's UserStats for a page of records; empty (shown as null) when the
    object cannot be reached, so the listing still answers."""
    try:
        return await load()
    except Exception as error:
        logger.warning("%s unavailable (%s); listing without them", what, error)
        return {}

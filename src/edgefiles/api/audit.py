"""/api/audit (the caller's events) and /api/admin/users/{user_id}/audit (any user's, for the
admin): the security-relevant events of services/audit.py, newest first, in pages."""

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.responses import json_response
from edgefiles.domain import validation
from edgefiles.domain.numbers import is_decimal
from edgefiles.domain.problems import Problem


async def _page(ctx: RequestContext, user_id: str) -> Response:
    limit = validation.page_limit(ctx.query.get("limit"), default=50)
    before = ctx.query.get("cursor")
    # At most 15 digits: a seq stays below 2**53, which D1 binds as a number (not a BigInt).
    if before is not None and not is_decimal(before, max_digits=15):
        raise Problem(400, "cursor is not one this API issued")
    events = await ctx.services.audit.page(user_id, limit + 1, int(before) if before else None)
    page, more = events[:limit], len(events) > limit
    return json_response({"items": page, "next_cursor": str(page[-1]["seq"]) if more else None})


async def user_audit(ctx: RequestContext) -> Response:
    return await _page(ctx, ctx.user_id)


async def admin_audit(ctx: RequestContext, user_id: str) -> Response:
    return await _page(ctx, user_id)

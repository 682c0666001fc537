"""/api/admin: minting and revoking API keys, and per-user quotas (admin token only). Every
action is written to the audit trail of the user it concerns."""

from typing import Any

from workers import Response

from edgefiles.api.auth import VERIFIED_KEYS
from edgefiles.api.context import RequestContext
from edgefiles.api.responses import empty_response, json_response
from edgefiles.domain import api_keys, validation
from edgefiles.domain.clock import now_iso
from edgefiles.domain.problems import Problem, unavailable

# The largest quota the admin may set: R2 holds more, but beyond a petabyte is a typo.
MAX_QUOTA_BYTES = 10**15
MAX_QUOTA_FILES = 10**9
MAX_AI_DAILY_CALLS = 10**7


async def create_key(ctx: RequestContext) -> Response:
    user_id = validation.user_id(validation.parse_json_object(await ctx.json_body()))
    prefix, key = api_keys.mint()
    await ctx.services.database.batch(
        [
            ctx.services.keys.create_statement(prefix, user_id, api_keys.hash_key(key), now_iso()),
            ctx.services.audit.statement(user_id, "admin", "key.created", prefix, None, ctx.request_id),
        ]
    )
    return json_response({"user_id": user_id, "key": key, "prefix": prefix}, 201)


async def revoke_key(ctx: RequestContext, prefix: str) -> Response:
    revoked = await ctx.services.keys.revoke(prefix, now_iso())
    VERIFIED_KEYS.forget_prefix(prefix)
    if revoked is None:
        raise Problem(404, "No such active key")
    await ctx.services.audit.record(revoked, "admin", "key.revoked", prefix, request_id=ctx.request_id)
    return empty_response(204)


def _limit(data: dict[str, Any], name: str, maximum: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise Problem(400, f"'{name}' must be null or an integer from 0 to {maximum}")
    return value


async def get_quota(ctx: RequestContext, user_id: str) -> Response:
    return json_response({"user_id": user_id, **await ctx.services.stats.usage(user_id, ctx.services.settings.quota)})


async def set_quota(ctx: RequestContext, user_id: str) -> Response:
    """Sets a user's quota; a field that is null or absent goes back to the default."""
    data = validation.parse_json_object(await ctx.json_body())
    unknown = sorted(set(data) - {"max_bytes", "max_files", "ai_daily_calls"})
    if unknown:
        raise Problem(400, f"Unknown field(s): {', '.join(unknown[:5])}")
    limits = (
        _limit(data, "max_bytes", MAX_QUOTA_BYTES),
        _limit(data, "max_files", MAX_QUOTA_FILES),
        _limit(data, "ai_daily_calls", MAX_AI_DAILY_CALLS),
    )
    try:
        await ctx.services.stats.set_limits(user_id, *limits)
    except Exception:
        raise unavailable("Quota accounting") from None
    detail = dict(zip(("max_bytes", "max_files", "ai_daily_calls"), limits, strict=True))
    await ctx.services.audit.record(
        user_id, "admin", "quota.changed", user_id, detail=detail, request_id=ctx.request_id
    )
    return await get_quota(ctx, user_id)

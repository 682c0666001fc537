"""/api/admin/keys: minting and revoking API keys (admin token only)."""

from workers import Response

from edgefiles.api.auth import VERIFIED_KEYS
from edgefiles.api.context import RequestContext
from edgefiles.api.responses import empty_response, json_response
from edgefiles.domain import api_keys, validation
from edgefiles.domain.clock import now_iso
from edgefiles.domain.problems import Problem


async def create_key(ctx: RequestContext) -> Response:
    user_id = validation.user_id(validation.parse_json_object(await ctx.json_body()))
    prefix, key = api_keys.mint()
    await ctx.services.keys.create(prefix, user_id, api_keys.hash_key(key), now_iso())
    return json_response({"user_id": user_id, "key": key, "prefix": prefix}, 201)


async def revoke_key(ctx: RequestContext, prefix: str) -> Response:
    revoked = await ctx.services.keys.revoke(prefix, now_iso())
    VERIFIED_KEYS.forget_prefix(prefix)
    if not revoked:
        raise Problem(404, "No such active key")
    return empty_response(204)

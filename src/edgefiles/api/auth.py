"""Who is calling: an API key (users) or the admin token."""

import hmac
import time

from edgefiles.api.context import RequestContext
from edgefiles.domain.api_keys import bearer_token, hash_key, prefix_of, same_secret
from edgefiles.domain.key_cache import VerifiedKeys
from edgefiles.domain.problems import Problem, unauthorized
from edgefiles.domain.secrets_policy import disabled

# Per isolate: every request this isolate serves shares it (see domain/key_cache.py).
VERIFIED_KEYS = VerifiedKeys()


async def authenticate_user(ctx: RequestContext) -> str:
    return await authenticate_key(ctx, bearer_token(ctx.header("authorization")))


async def authenticate_key(ctx: RequestContext, token: str | None, problem: Problem | None = None) -> str:
    """The user whose API key `token` is; `problem` (401 by default) for anything else."""
    refused = problem or unauthorized()
    prefix = prefix_of(token) if token else None
    if prefix is None:
        raise refused
    key_hash = hash_key(token)
    now = time.monotonic()
    user_id = VERIFIED_KEYS.user_for(key_hash, now)
    if user_id is None:
        row = await ctx.services.keys.find_active(prefix)
        # Same answer for an unknown prefix and a wrong secret: nothing is learned by guessing.
        if row is None or not hmac.compare_digest(key_hash, row["key_hash"]):
            raise refused
        user_id = row["user_id"]
        VERIFIED_KEYS.remember(key_hash, prefix, user_id, now, ctx.services.settings.auth_cache_seconds)
    ctx.user_id = user_id
    return user_id


def authenticate_admin(ctx: RequestContext) -> None:
    expected = ctx.services.settings.admin_token
    if expected is None:
        raise disabled("The admin API is", "ADMIN_TOKEN")
    token = bearer_token(ctx.header("authorization"))
    if token is None or not same_secret(token, expected):
        raise unauthorized("A valid admin token is required")

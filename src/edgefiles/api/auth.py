"""Who is calling: an API key (users) or the admin token."""

from edgefiles.api.context import RequestContext
from edgefiles.domain.api_keys import bearer_token, matches, prefix_of, same_secret
from edgefiles.domain.problems import Problem, unauthorized


async def authenticate_user(ctx: RequestContext) -> str:
    token = bearer_token(ctx.header("authorization"))
    prefix = prefix_of(token) if token else None
    if prefix is None:
        raise unauthorized()
    row = await ctx.services.keys.find_active(prefix)
    # Same answer for an unknown prefix and a wrong secret: nothing is learned by guessing.
    if row is None or not matches(token, row["key_hash"]):
        raise unauthorized()
    ctx.user_id = row["user_id"]
    return ctx.user_id


def authenticate_admin(ctx: RequestContext) -> None:
    expected = ctx.services.settings.admin_token
    if expected is None:
        raise Problem(503, "The admin API is not configured")
    token = bearer_token(ctx.header("authorization"))
    if token is None or not same_secret(token, expected):
        raise unauthorized("A valid admin token is required")

"""/api/stats: the caller's statistics from their UserStats Durable Object."""

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.responses import json_response


async def get_stats(ctx: RequestContext) -> Response:
    return json_response(await ctx.services.stats.stats(ctx.user_id))

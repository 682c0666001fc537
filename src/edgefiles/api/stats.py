"""/api/stats: the caller's statistics from their UserStats Durable Object."""

import asyncio

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.responses import json_response


async def get_stats(ctx: RequestContext) -> Response:
    """The counts (trashed files included: they still hold their bytes), the live folders, and,
    under `quota`, usage against the caller's quota."""
    stats, usage, folders = await asyncio.gather(
        ctx.services.stats.stats(ctx.user_id),
        ctx.services.stats.usage(ctx.user_id, ctx.services.settings.quota),
        ctx.services.folders.count(ctx.user_id),
    )
    return json_response({**stats, "folder_count": folders, "quota": usage})

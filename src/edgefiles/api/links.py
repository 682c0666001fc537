"""/d/{token}: downloads through a signed link, no API key needed."""

import time

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.downloads import serve_file
from edgefiles.domain.problems import Problem, not_found
from edgefiles.domain.signing import ExpiredToken, InvalidToken, verify


async def download(ctx: RequestContext, token: str) -> Response:
    key = ctx.services.settings.signing_key
    if key is None:
        raise Problem(503, "Signed links are not configured")
    try:
        file_id = verify(token, key, int(time.time()))
    except ExpiredToken:
        raise Problem(403, "This link has expired") from None
    except InvalidToken:
        raise Problem(403, "This link is not valid") from None
    row = await ctx.services.records.get_live(file_id)
    if row is None:
        raise not_found()
    return await serve_file(ctx, row)

"""/d/{token}: downloads through a signed link, no API key needed."""

import time

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.downloads import serve_file
from edgefiles.domain.problems import Problem, not_found
from edgefiles.domain.secrets_policy import disabled
from edgefiles.domain.signing import ExpiredToken, InvalidToken, verify
from edgefiles.domain.validation import MAX_LINK_SECONDS

CLOCK_SKEW_SECONDS = 60


def signing_key(ctx: RequestContext) -> bytes:
    """The key links are signed with; 503 while it is missing or refused."""
    key = ctx.services.settings.signing_key
    if key is None:
        raise disabled("Signed links are", "SIGNING_KEY")
    return key


async def download(ctx: RequestContext, token: str) -> Response:
    key = signing_key(ctx)
    try:
        # A link made at the longest lifetime by an isolate whose clock runs a little ahead is valid.
        file_id = verify(token, key, int(time.time()), MAX_LINK_SECONDS + CLOCK_SKEW_SECONDS)
    except ExpiredToken:
        raise Problem(403, "This link has expired") from None
    except InvalidToken:
        raise Problem(403, "This link is not valid") from None
    row = await ctx.services.records.get_live(file_id)
    if row is None:
        raise not_found()
    return await serve_file(ctx, row)

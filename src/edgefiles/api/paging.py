"""Keyset pages of the API's listings: the `limit` and `cursor` a client sends, and the
`next_cursor` it gets back (domain/cursors.py: the (sort key, id) of the page's last item)."""

from collections.abc import Callable
from typing import Any

from edgefiles.api.context import RequestContext
from edgefiles.domain import validation
from edgefiles.domain.cursors import decode_cursor, encode_cursor
from edgefiles.domain.problems import Problem


def page_request(ctx: RequestContext) -> tuple[int, tuple[str, str] | None]:
    """(limit, after) from the query: 400 for a cursor this API did not issue."""
    limit = validation.page_limit(ctx.query.get("limit"))
    cursor = ctx.query.get("cursor")
    if not cursor:
        return limit, None
    try:
        return limit, decode_cursor(cursor)
    except ValueError:
        raise Problem(400, "cursor is not one this API issued") from None


def page_of(
    rows: list[dict[str, Any]], limit: int, sort_key: str, view: Callable[[dict[str, Any]], Any]
) -> dict[str, Any]:
    """{items, next_cursor} from `limit` + 1 rows (one more than a page: whether more follow)."""
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [view(row) for row in page],
        "next_cursor": encode_cursor(page[-1][sort_key], page[-1]["id"]) if more else None,
    }

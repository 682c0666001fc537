"""Each user's daily budget of Workers AI calls, counted in their UserStats object
(durable_objects/ledger.py) for every caller: summary streams and search on the request path,
and the queue consumer's analysis. The day is UTC."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from edgefiles.domain.problems import Problem
from edgefiles.services.analysis import ai_calls
from edgefiles.services.container import Services

logger = logging.getLogger(__name__)


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


async def charge(services: Services, user_id: str, key: str, calls: int, *, strangers: bool = False) -> bool:
    """Whether `calls` AI calls for the work `key` fit today's budget (and are now charged);
    `strangers` for work caused through a file request, which may use half of it at most.
    When the object cannot be reached the work goes ahead: the rate limits still bound it, and
    a user should not lose analysis to an outage of the counter."""
    try:
        pool = "requests" if strangers else "own"
        answer = await services.stats.charge_ai(user_id, key, calls, today(), services.settings.quota, pool)
    except Exception as error:
        logger.warning("AI budget of %s not checked (%s); allowing", user_id, error)
        return True
    return bool(answer["ok"])


async def charge_request(services: Services, user_id: str, key: str, calls: int = 1) -> None:
    """Charges a request's AI calls, or raises 429 until midnight UTC."""
    if not await charge(services, user_id, key, calls):
        raise Problem(
            429,
            "Your daily budget of AI calls is used up; it renews at midnight UTC",
            headers={"retry-after": str(seconds_to_midnight())},
        )


async def charge_files(services: Services, user_id: str, files: list[dict[str, Any]]) -> set[str]:
    """Charges one owner's files of a queue batch in one call (each keyed by its file, in the
    pool of whoever sent it); the ids of those the budget allows. When the owner's object cannot
    be reached every file is allowed, as `charge` does."""
    items = [
        (f"file:{file['id']}", ai_calls(file), "requests" if file.get("file_request_id") else "own") for file in files
    ]
    try:
        granted = await services.stats.charge_ai_many(user_id, items, today(), services.settings.quota)
    except Exception as error:
        logger.warning("AI budget of %s not checked (%s); allowing", user_id, error)
        return {file["id"] for file in files}
    return {file["id"] for file, ok in zip(files, granted, strict=True) if ok}

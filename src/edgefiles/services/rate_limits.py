"""Per-user rate limits on the expensive routes, through Cloudflare's Rate Limiting binding
(`[[ratelimits]]` in wrangler.toml: one binding per kind of work, each with its limit and a
period of 10 or 60 seconds). Production counts per location and eventually: a limit, not a
meter; the daily AI budget (durable_objects/ledger.py) is the exact one."""

import logging
from typing import Any

from edgefiles.domain.problems import Problem

logger = logging.getLogger(__name__)

# Kind of work -> (binding, period in seconds as configured in wrangler.toml, for Retry-After).
LIMITERS = {
    "upload": ("UPLOAD_LIMITER", 60),
    "search": ("SEARCH_LIMITER", 60),
    "summary": ("SUMMARY_LIMITER", 60),
    "share": ("SHARE_LIMITER", 60),
}
# Wrong passwords are limited exactly in the owner's UserStats instead (services/passwords.py):
# a binding counts every attempt, the right ones too, and cannot be asked before counting.


class RateLimits:
    def __init__(self, env: Any) -> None:
        self._env = env

    async def check(self, kind: str, key: str) -> None:
        """Counts one `kind` of request for `key`; raises 429 when over the limit. A missing
        binding or a failing one lets the request through (and says so in the log): the limits
        protect cost, and the daily AI budget and the quota still hold."""
        binding_name, period = LIMITERS[kind]
        binding = getattr(self._env, binding_name, None)
        if binding is None:
            logger.warning("rate limit %s: no %s binding; not limited", kind, binding_name)
            return
        try:
            outcome = await binding.limit({"key": f"{kind}:{key}"})
        except Exception as error:
            logger.warning("rate limit %s failed (%s); not limited", binding_name, error)
            return
        if not outcome.success:
            raise Problem(
                429,
                f"Too many {kind} requests; try again in {period} seconds",
                headers={"retry-after": str(period)},
            )

"""A fixed budget of binding calls for background work, shared between steps, and the hour
arithmetic of time-partitioned object keys. Pure: unit-tested in CPython."""

from datetime import UTC, datetime, timedelta


class Budget:
    """Binding calls a run may still make. A share of it is itself a Budget: what a share takes,
    its parent loses too, so no step can spend more than the run has."""

    def __init__(self, units: int, parent: "Budget | None" = None) -> None:
        self.left = max(units, 0)
        self._parent = parent

    def take(self, units: int = 1) -> bool:
        """Takes `units` if that many are left (and left in every parent); else takes nothing."""
        if not self.can(units):
            return False
        budget: Budget | None = self
        while budget is not None:
            budget.left -= units
            budget = budget._parent
        return True

    def can(self, units: int) -> bool:
        budget: Budget | None = self
        while budget is not None:
            if budget.left < units:
                return False
            budget = budget._parent
        return True

    def share(self, weight: int, remaining_weight: int) -> "Budget":
        """This step's share of what is left: unused shares of earlier steps carry forward."""
        units = self.left * weight // remaining_weight if remaining_weight > 0 else 0
        return Budget(units, parent=self)


def hour_end(hour: str) -> datetime:
    """`2026-11-27T19` -> the moment that hour ends (UTC)."""
    return datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC) + timedelta(hours=1)


def hour_settled(hour: str, now: datetime, grace: timedelta) -> bool:
    """Whether every single-request upload into `hour` has finished: the hour is over by more than
    the grace period, so an object without a row there is an orphan, not an upload in flight."""
    return hour_end(hour) + grace <= now

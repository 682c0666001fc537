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


# The reconciler's steps (services/reconciler.py), in the order they run: each one's weight (its
# share of a run's budget) and the fewest calls it needs to do anything at all. A step that goes
# first gets only its share, so every share of the default budget must cover its minimum
# (tests/unit check it); leftovers carry forward to the steps after.
RECONCILE_STEPS: dict[str, tuple[int, int]] = {
    "requeue": (4, 3),  # the page, the sendBatch, the touch
    "purge": (6, 4),  # the page, its objects, its vectors, its rows
    "orphans": (6, 4),  # the next hour, then a list, the check and the delete
    "legacy_objects": (4, 3),
    "idle_uploads": (8, 6),  # the page, an abort, the check, the delete, the close, a release
    "legacy_vectors": (4, 3),
    "stats": (10, 3),  # the changes, then a user's count in D1 and in UserStats
    "reservations": (4, 3),  # the markers, an owner's release, the markers' delete
    "trash": (4, 3),  # the page, the mark, an owner's uncount (then, with what is left, folders)
}


def hour_end(hour: str) -> datetime:
    """`2026-11-27T19` -> the moment that hour ends (UTC)."""
    return datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC) + timedelta(hours=1)


def hour_settled(hour: str, now: datetime, grace: timedelta) -> bool:
    """Whether every single-request upload into `hour` has finished: the hour is over by more than
    the grace period, so an object without a row there is an orphan, not an upload in flight."""
    return hour_end(hour) + grace <= now

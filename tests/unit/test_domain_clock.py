from datetime import UTC, datetime, timedelta, timezone

from edgefiles.domain.clock import iso


def test_iso_is_utc_with_milliseconds_and_z() -> None:
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    assert iso(datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))) == "2026-01-02T03:04:05.000Z"


def test_iso_strings_sort_like_times() -> None:
    early, late = datetime(2026, 1, 1, 23, 59, tzinfo=UTC), datetime(2026, 1, 2, 0, 0, tzinfo=UTC)
    assert iso(early) < iso(late)

"""Reserving quota for an upload before any byte is stored, and what happens to the reservation.

The reservation is made in the owner's UserStats object (durable_objects/ledger.py), which
serialises every upload of that user, so concurrent uploads cannot together pass the quota.

Failure story. With the reservation goes a marker row in D1 (`upload_reservations`), written
in parallel with it and expiring with it:
- the upload succeeds: the file's D1 row is inserted in the same transaction that deletes the
  marker, and the object counts the file in the same transaction that drops the reservation;
- the upload fails or is aborted: the reservation and the marker are released at once;
- the request dies (isolate lost, client gone and the Worker with it): the marker outlives its
  lease and the reconciler releases the reservation it names; a multipart upload's marker is
  deleted once its `uploads` row exists, and the reconciler releases the reservation when it
  aborts the idle upload. Should every repair fail, a reservation still expires on its own.
"""

import asyncio
import logging
import time
from typing import Any

from edgefiles.domain.clock import iso_from_epoch
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.services.container import Services

logger = logging.getLogger(__name__)

# How long a single-request upload may stream before its reservation is presumed dead: 100 MB
# at 30 KB/s. The marker of a multipart upload lives only until its `uploads` row is written.
REQUEST_LEASE_SECONDS = 3600
# An upload still streaming after this long renews its reservation before it is registered: one
# whose lease ran out (and was released by the reconciler) is checked against the quota anew.
RENEW_AFTER_SECONDS = REQUEST_LEASE_SECONDS // 4
# A multipart upload holds its reservation while it is open; the reconciler aborts one idle for a
# day, and R2 drops incomplete multipart uploads after seven. The lease is the last resort.
MULTIPART_LEASE_SECONDS = 8 * 24 * 3600


def quota_problem(answer: dict[str, Any], size: int) -> Problem:
    usage = {
        name: answer[name]
        for name in ("quota_bytes", "used_bytes", "reserved_bytes", "remaining_bytes", "quota_files", "remaining_files")
    }
    if answer["refused"] == "request_files":
        return Problem(403, "This file request accepts no more files")
    if answer["refused"] == "files":
        detail = f"Your quota allows {answer['quota_files']} files and has room for {answer['remaining_files']} more"
    else:
        detail = (
            f"This upload needs {size} bytes; your quota has {answer['remaining_bytes']} bytes left"
            f" of {answer['quota_bytes']}"
        )
        if answer["reserved_bytes"]:
            detail += f" ({answer['reserved_bytes']} are held by uploads in progress)"
    return Problem(413, detail, title="Quota exceeded", extra=usage)


async def reserve(
    services: Services,
    user_id: str,
    *,
    reservation_id: str,
    file_id: str,
    size: int,
    lease_seconds: int = REQUEST_LEASE_SECONDS,
    file_request_id: str | None = None,
    request_max_files: int | None = None,
) -> None:
    """Reserves `size` bytes and one file of the user's quota, or raises the Problem to answer."""
    expires = time.time() + lease_seconds
    reservation = {
        "id": reservation_id,
        "file_id": file_id,
        "size_bytes": size,
        "expires_at": int(expires * 1000),
        "file_request_id": file_request_id,
    }
    marker, answer = await asyncio.gather(
        services.database.prepare(
            "INSERT OR REPLACE INTO upload_reservations (id, user_id, size_bytes, expires_at) VALUES (?, ?, ?, ?)"
        )
        .bind(reservation_id, user_id, size, iso_from_epoch(int(min(expires, time.time() + REQUEST_LEASE_SECONDS))))
        .run(),
        services.stats.reserve(user_id, reservation, services.settings.quota, request_max_files),
        return_exceptions=True,
    )
    if isinstance(answer, BaseException):
        # The object may have reserved before the call failed: the marker stays, and the
        # reconciler releases whatever it names once its lease is over (a no-op if nothing).
        logger.error("quota reservation for %s failed: %s", user_id, answer)
        raise unavailable("Quota accounting")
    if isinstance(marker, BaseException):
        logger.error("reservation marker %s failed: %s", reservation_id, marker)
        if answer["ok"]:
            await _release_in_object(services, user_id, reservation_id)
        raise unavailable("The metadata store")
    if not answer["ok"]:
        await _forget_marker(services, reservation_id)
        raise quota_problem(answer, size)


async def release(services: Services, user_id: str, reservation_id: str, size: int = 0) -> None:
    """Gives a reservation back (an upload that failed or was aborted). Best effort: when the
    object cannot be reached, the marker is kept (or written again, due now) for the reconciler."""
    if await _release_in_object(services, user_id, reservation_id):
        await _forget_marker(services, reservation_id)
        return
    try:
        await (
            services.database.prepare(
                "INSERT OR REPLACE INTO upload_reservations (id, user_id, size_bytes, expires_at) VALUES (?, ?, ?, ?)"
            )
            .bind(reservation_id, user_id, size, iso_from_epoch(int(time.time())))
            .run()
        )
    except Exception as error:
        logger.warning("keeping reservation marker %s failed (%s); the lease releases it", reservation_id, error)


def marker_settled(services: Services, reservation_id: str) -> Any:
    """The statement that deletes a reservation's marker, for the batch that makes its upload
    durable (the file row, or a multipart upload's row)."""
    return services.database.prepare("DELETE FROM upload_reservations WHERE id = ?").bind(reservation_id)


async def _release_in_object(services: Services, user_id: str, reservation_id: str) -> bool:
    try:
        await services.stats.release(user_id, [reservation_id])
    except Exception as error:
        logger.warning("releasing reservation %s failed (%s)", reservation_id, error)
        return False
    return True


async def _forget_marker(services: Services, reservation_id: str) -> None:
    try:
        await marker_settled(services, reservation_id).run()
    except Exception as error:
        logger.warning("deleting reservation marker %s failed (%s); the reconciler does", reservation_id, error)

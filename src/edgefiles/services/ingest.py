"""Registering a file whose bytes are already in R2: the D1 row, then job and stats.

Failure story: the row is the record of truth. If it cannot be written the object is deleted,
the upload's quota reservation released, and nothing remains. The row is written in the same
transaction that settles the reservation's marker (services/quota.py). Once it is written, the
queue send and the stats update run in parallel and may fail independently: the row stays
`pending` (the reconciler re-enqueues it) and a user's stats are re-derived from D1 when they
disagree, so no failure leaves state that no process will fix.
"""

import asyncio
import logging
from typing import Any

from edgefiles.domain.files import cache_key
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.services import quota
from edgefiles.services.container import Services
from edgefiles.services.folders import NameTaken, NoSuchFolder, classify

logger = logging.getLogger(__name__)


# Another upload may take the name chosen: one numbered alternative, then one with the file's id.
NAME_ATTEMPTS = 3
# Where, in a replacing batch, the UPDATE that marks the replaced file answers its id.
REPLACED_RESULT = 2


async def _rename(services: Services, row: dict[str, Any], view: dict[str, Any], attempt: int) -> None:
    folder_id = row.get("folder_id") or ""
    name = await services.folders.retry_name(row["user_id"], folder_id, row["filename"], row["id"], attempt + 1)
    row["filename"] = view["filename"] = name


async def _undo(services: Services, row: dict[str, Any], reservation_id: str | None) -> None:
    try:
        await services.storage.delete(row["r2_key"])
    except Exception:
        # No row points at it: the reconciler deletes unowned objects under uploads/.
        logger.exception("could not delete orphan object %s", row["r2_key"])
    if reservation_id is not None:
        await quota.release(services, row["user_id"], reservation_id, row["size_bytes"])


async def register_file(
    services: Services,
    row: dict[str, Any],
    view: dict[str, Any],
    reservation_id: str | None = None,
    *,
    release_on_failure: bool = True,
    replace: bool = False,
    with_statements: list[Any] | None = None,
) -> None:
    """A name another live entry of the folder has is numbered ("q3 (2).pdf"), in `row` and
    `view` both. `view` is the file as its owner sees it: the stats update also publishes it (file.created)
    to the owner's open clients, in the same RPC, and turns the reservation into the file.
    Without `release_on_failure` a failure leaves the reservation to the caller (a multipart
    upload's holds while its upload row is open).

    With `replace` (WebDAV's PUT) the file that holds the name when the row is written is
    marked deleted in the same transaction, its dead properties passing to the new one: the
    name passes from one to the other at once, and of writers racing for one path the last
    wins, as on a disk. A folder with the name is a 409. `with_statements` join the
    transaction (the dead properties a copy brings)."""
    replaced: str | None = None
    for attempt in range(NAME_ATTEMPTS):
        statements = [services.records.insert_statement(row)]
        if replace:
            statements[:0] = services.records.replace_named_statements(row)
        if reservation_id is not None:
            statements.append(quota.marker_settled(services, reservation_id))
        statements += with_statements or []
        try:
            results = await services.database.batch(statements)
            if replace:
                marked = results[REPLACED_RESULT].results
                replaced = marked[0]["id"] if marked else None
            break
        except Exception as error:
            failure = classify(error)
            if isinstance(failure, NameTaken) and not replace and attempt + 1 < NAME_ATTEMPTS:
                try:
                    await _rename(services, row, view, attempt)
                    continue
                except Exception:
                    logger.exception("finding a free name for file %s failed", row["id"])
            if not isinstance(failure, NoSuchFolder | NameTaken):
                logger.exception("D1 insert failed for file %s; deleting its object", row["id"])
            await _undo(services, row, reservation_id if release_on_failure else None)
            if isinstance(failure, NoSuchFolder):
                raise Problem(409, "The folder was deleted while the file was uploading") from None
            if isinstance(failure, NameTaken):
                raise Problem(409, "A folder, or another request, holds this name") from None
            raise unavailable("The metadata store") from None
    # No cache fill: a pending row changes within seconds, and KV takes one write per key per
    # second; the first read after the file is finished caches it (api/files.get_metadata).
    steps = {
        "queue send": services.jobs.file_uploaded(row["id"], row["user_id"]),
        "stats update": services.stats.record_upload(
            row["user_id"],
            row["id"],
            row["size_bytes"],
            row["content_type"],
            view,
            reservation_id,
            row.get("file_request_id"),
        ),
    }
    if replaced is not None:
        # The replaced file is deleted: uncounted now (or by the stats repair), and its cached
        # metadata goes (or expires); its object and vectors go in the purge.
        steps["stats uncount of the replaced file"] = services.stats.record_delete(row["user_id"], replaced)
        steps["cache delete of the replaced file"] = services.cache.delete(cache_key(row["user_id"], replaced))
    results = await asyncio.gather(*steps.values(), return_exceptions=True)
    for step, result in zip(steps, results, strict=True):
        if isinstance(result, BaseException):
            logger.warning("file %s: %s failed (%s); left for the reconciler", row["id"], step, result)

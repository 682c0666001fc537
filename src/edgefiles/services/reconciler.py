"""The reconciler, run by the cron trigger: repairs what a multi-binding write that failed half
way left behind, with a fixed cost per run however much data there is.

Budget. Every binding call a run makes (a D1 statement, an R2, Queue, Vectorize or Durable
Object call) costs one unit, and a run spends at most RECONCILE_BUDGET units (default 40: under
the Free plan's 50 D1 queries and 50 subrequests per invocation; two go to reading and writing
the cursors). The steps share it by weight, and what a step leaves carries to the next; the
step that goes first turns each run, so with a small budget each is in turn the one that gets
the rest. A step stops where its share ends and records where in `reconciler_cursors` (D1), so successive runs
cover everything and no run looks at all of it. Every step is idempotent.

Where orphans come from, and how each is found without listing the bucket:
- A single-request upload whose D1 insert and clean-up delete both failed leaves an object no row
  owns. Objects are keyed `objects/<UTC hour>/<owner>/<file>` (domain/files.py), so such an
  orphan can only be in the hour its upload began. The `orphans` step lists each hour's prefix
  once, an hour after it ended (or the grace period, if longer), and deletes the keys no live
  row owns; an object written less than the grace period ago stops the listing there. Its
  cursor is (hour, last key); finding the next non-empty hour is one list call.
- A deleted file whose object or vector delete failed: deleted rows stay in D1 (with their key
  and chunk count), and the `purge` step walks them in (deleted_at, id) order once, deleting
  their objects and vectors again (deleting what is already gone is harmless).
- A multipart upload whose completion's D1 insert failed: its `uploads` row stays open, and the
  `idle_uploads` step aborts it in R2, closes it, and deletes its object if no live row owns it.
- Keys from before the hour partition (`uploads/...`) are swept once by `legacy_objects`, and
  embeddings from before Vectorize once by `legacy_vectors` (migration 0005).
- A quota reservation whose upload request died: its marker row (`upload_reservations`,
  services/quota.py) outlives its lease, and the `reservations` step releases the reservation
  in the owner's UserStats and drops the marker. An idle multipart upload's reservation is
  released when `idle_uploads` aborts it.
- Trash past its retention (TRASH_RETENTION_DAYS): the `trash` step marks it deleted (its text
  goes with the mark), uncounts it in UserStats and drops its cached image analysis; `purge`
  then deletes its object and vectors, and finally its row.

Steps:
1. requeue: files pending longer than the grace period are enqueued again (one sendBatch) and
   moved to the back of the scan, so the next run takes the next ones.
2. purge, 3. orphans, 4. legacy_objects, 5. idle_uploads, 6. legacy_vectors, 8. reservations,
9. trash: as above.
7. stats: rows that changed, in (updated_at, id) order from the cursor; each changed user's live
   count and bytes in D1 (one aggregate over an index) against their UserStats. A user who
   disagrees is compared again on the next run (an upload or delete in flight has landed by
   then), and one who still disagrees is rebuilt a page of 1,000 files at a time
   (UserStats.replace_range, which keeps rows recorded after the page was read), across as many
   runs as it takes.
"""

import logging
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from edgefiles.domain.clock import iso
from edgefiles.domain.files import LEGACY_OBJECT_PREFIX, OBJECT_PREFIX, image_cache_key
from edgefiles.domain.search_index import vector_id
from edgefiles.domain.tus import SEGMENT_PREFIX, segment_prefix
from edgefiles.domain.work_budget import RECONCILE_STEPS, Budget, hour_settled
from edgefiles.services.container import Services, int_var
from edgefiles.services.metadata import FileAudit, ReconcilerCursors

logger = logging.getLogger(__name__)

DEFAULT_BUDGET = 40
CURSOR_CALLS = 2  # one read and one write of every step's cursor
TURN = "turn"  # which step goes first, kept with the cursors
STEP_WEIGHTS = {name: weight for name, (weight, _) in RECONCILE_STEPS.items()}
IDLE_UPLOAD_AGE = timedelta(days=1)
# How long after an hour ends its prefix is listed: a single-request upload keyed in that hour
# may still be streaming its body (100 MB over a slow link takes minutes).
HOUR_SETTLE = timedelta(hours=1)
PENDING_BATCH = 100  # the Queues sendBatch limit
PURGE_BATCH = 100
LIST_PAGE = 1000  # R2 list's maximum, and R2 delete's
VECTOR_IDS_PER_CALL = 1000
LEGACY_VECTOR_BATCH = 100
CHANGES_PAGE = 500
STATS_PAGE = 1000
RESERVATION_BATCH = 100
TRASH_BATCH = 100
# Sorts after every character of a key segment, so `<prefix>/~` is past all of a prefix's keys.
AFTER_ALL = "~"


@dataclass
class Report:
    requeued: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    orphans_deleted: list[str] = field(default_factory=list)
    uploads_aborted: list[str] = field(default_factory=list)
    vectors_moved: int = 0
    stats_checked: list[str] = field(default_factory=list)
    stats_rebuilt: list[str] = field(default_factory=list)
    reservations_released: list[str] = field(default_factory=list)
    trash_expired: list[str] = field(default_factory=list)
    folders_dropped: int = 0
    calls: int = 0
    budget: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {name: list(value) if isinstance(value, list) else value for name, value in self.__dict__.items()}


class Reconciler:
    def __init__(self, env: Any, *, grace: timedelta, now: datetime | None = None) -> None:
        self.services = Services(env)
        self.audit = FileAudit(self.services.database)
        self.cursors = ReconcilerCursors(self.services.database)
        self.grace = grace
        self.now = now or datetime.now(UTC)
        self.cutoff = iso(self.now - grace)
        self.trash_cutoff = iso(self.now - timedelta(days=self.services.settings.trash_retention_days))
        total = int_var(env, "RECONCILE_BUDGET", DEFAULT_BUDGET) or DEFAULT_BUDGET
        self.budget = Budget(total)
        self.stats_cursor: dict[str, Any] | None = None
        self.report = Report(budget=total)

    async def run(self) -> Report:
        steps = {
            "requeue": self.requeue,
            "purge": self.purge,
            "orphans": self.orphans,
            "legacy_objects": self.legacy_objects,
            "idle_uploads": self.idle_uploads,
            "legacy_vectors": self.legacy_vectors,
            "stats": self.stats,
            "reservations": self.reservations,
            "trash": self.trash,
        }
        if not self.budget.take(CURSOR_CALLS):
            logger.error("reconcile: a budget of %d cannot read and write its cursors", self.report.budget)
            return self.report
        cursors = await self.cursors.load()
        self.stats_cursor = cursors.get("stats")
        # The step that goes first turns each run: what an earlier step leaves carries to the later
        # ones, so with a small budget every step is in turn the one that gets the rest.
        turn = cursors.get(TURN) if isinstance(cursors.get(TURN), int) else 0
        names = list(steps)
        order = names[turn % len(names) :] + names[: turn % len(names)]
        updated: dict[str, Any] = {TURN: turn + 1}
        remaining_weight = sum(STEP_WEIGHTS.values())
        try:
            for name in order:
                step = steps[name]
                share = self.budget.share(STEP_WEIGHTS[name], remaining_weight)
                remaining_weight -= STEP_WEIGHTS[name]
                # Steps are independent: one failing must not stop the others from repairing.
                try:
                    cursor = await step(share, cursors.get(name))
                except Exception:
                    logger.exception("reconcile step %s failed", name)
                    continue
                if cursor is not None and cursor != cursors.get(name):
                    updated[name] = cursor
        finally:
            await self.cursors.save(updated, iso(self.now))
            self.report.calls = self.report.budget - self.budget.left
            counts = {k: (len(v) if isinstance(v, list) else v) for k, v in self.report.as_dict().items()}
            logger.info("reconcile: %s", counts)
        return self.report

    async def requeue(self, budget: Budget, cursor: Any) -> None:
        if not budget.take(1):
            return
        files = await self.services.records.pending_before(self.cutoff, PENDING_BATCH)
        if not files or not budget.take(2):
            return
        await self.services.jobs.files_uploaded([(f["id"], f["user_id"]) for f in files])
        await self.audit.touch_pending([f["id"] for f in files], iso(self.now))
        self.report.requeued += [f["id"] for f in files]
        logger.info("reconcile: re-enqueued %d pending file(s)", len(files))

    async def purge(self, budget: Budget, cursor: Any) -> dict[str, str]:
        position = cursor or {"at": "", "id": ""}
        # Rows leave D1 here, so only those the stats step has already walked past (a deleted
        # row's updated_at is its deleted_at): a failed uncount of one is then already seen.
        stats = self.stats_cursor or {}
        upto = (stats.get("at", ""), stats.get("id", ""))
        while budget.can(4):  # the page, its objects, its vectors, its rows
            budget.take(1)
            rows = await self.audit.deleted_after((position["at"], position["id"]), self.cutoff, upto, PURGE_BATCH)
            batch, ids = [], []
            for row in rows:
                vectors = [vector_id(row["id"], index) for index in range(row["chunk_count"])]
                if batch and len(ids) + len(vectors) > VECTOR_IDS_PER_CALL:
                    break
                batch.append(row)
                ids += vectors
            if not batch:
                break
            budget.take(1)
            await self.services.storage.delete_many([row["r2_key"] for row in batch])
            if ids:
                budget.take(1)
                await self.services.vectors.delete_ids(ids)
            budget.take(1)
            await self.audit.drop_rows([row["id"] for row in batch])
            position = {"at": batch[-1]["deleted_at"], "id": batch[-1]["id"]}
            self.report.purged += [row["id"] for row in batch]
            if len(rows) < PURGE_BATCH:
                break
        return position

    async def orphans(self, budget: Budget, cursor: Any) -> dict[str, Any] | None:
        position = cursor
        while True:
            if position is None or position["done"]:
                if not budget.take(1):
                    break
                after = f"{OBJECT_PREFIX}{position['hour']}/{AFTER_ALL}" if position else ""
                prefix = await self.services.storage.next_prefix(OBJECT_PREFIX, after)
                if prefix is None:
                    break
                hour = prefix[len(OBJECT_PREFIX) : -1]
                if not hour_settled(hour, self.now, max(self.grace, HOUR_SETTLE)):
                    break  # uploads into it may still be in flight; a later run takes it
                position = {"hour": hour, "after": "", "done": False}
            listed = await self._sweep(budget, f"{OBJECT_PREFIX}{position['hour']}/", position["after"])
            if listed is None:
                break
            last_key, more = listed
            if last_key is None and more:
                break  # a young object heads the page: nothing to move past yet
            position = {"hour": position["hour"], "after": last_key or position["after"], "done": not more}
        return position

    async def legacy_objects(self, budget: Budget, cursor: Any) -> dict[str, Any]:
        position = cursor or {"after": "", "done": False}
        while not position["done"]:
            listed = await self._sweep(budget, LEGACY_OBJECT_PREFIX, position["after"])
            if listed is None:
                break
            last_key, more = listed
            if last_key is None and more:
                break
            position = {"after": last_key or position["after"], "done": not more}
        return position

    async def _sweep(self, budget: Budget, prefix: str, after: str) -> tuple[str | None, bool] | None:
        """Lists one page under `prefix` after `after` and deletes its objects that no live row
        owns. Returns (the last key it can move past, whether more follow), or None when the
        budget cannot pay for a page (list, check and delete)."""
        if not budget.can(3):
            return None
        budget.take(1)
        objects, more = await self.services.storage.list_after(prefix, after, LIST_PAGE)
        cutoff_ms = (self.now - self.grace).timestamp() * 1000
        # A young object in an old prefix is a multipart upload completing right now; its row is
        # about to be written. The cursor stops before it (idle_uploads covers a failed one).
        settled = []
        for key, uploaded_ms in objects:
            if uploaded_ms >= cutoff_ms:
                more = True
                break
            settled.append(key)
        if not settled:
            return (None, more)
        budget.take(1)
        orphans = await self.audit.unowned_keys(settled)
        if orphans:
            budget.take(1)
            await self.services.storage.delete_many(orphans)
            self.report.orphans_deleted += orphans
            logger.info("reconcile: deleted %d orphan object(s): %s", len(orphans), orphans[:10])
        return (settled[-1], more)

    async def idle_uploads(self, budget: Budget, cursor: Any) -> dict[str, str]:
        """Aborts idle and expired uploads, then, with what is left, sweeps one tus upload's
        temporary segments if the upload is no longer open (its cursor: the last prefix seen)."""
        await self._abort_idle(budget)
        after = cursor.get("segments_after", "") if isinstance(cursor, dict) else ""
        return {"segments_after": await self._sweep_segments(budget, after)}

    async def _sweep_segments(self, budget: Budget, after: str) -> str:
        """Segments a PATCH or a completion left behind (a delete that failed): the next
        `tus/<upload>/` prefix after `after`, deleted unless its upload is open. Back to the
        start after the last one."""
        if not budget.can(2):
            return after
        budget.take(1)
        prefix = await self.services.storage.next_prefix(SEGMENT_PREFIX, after)
        if prefix is None:
            return ""
        upload_id = prefix[len(SEGMENT_PREFIX) : -1]
        budget.take(1)
        if await self.services.uploads.status_of(upload_id) == "open":
            return prefix
        if not budget.can(2):
            return after
        budget.take(2)
        await self._delete_segments(upload_id)
        return prefix

    async def _abort_idle(self, budget: Budget) -> None:
        # The page, the closes, then per upload an R2 abort, the owner check, the deletes and
        # (per owner) the release of its reservation.
        room = (budget.left - 4) // 2
        if room < 1:
            return
        budget.take(1)
        idle = await self.services.uploads.idle_before(iso(self.now - IDLE_UPLOAD_AGE), iso(self.now), min(room, 20))
        if not idle:
            return
        # Closed first: a completion that claims one of them now fails, and one that claimed it
        # first keeps it (a closed upload is left alone here).
        budget.take(1)
        closed = set(await self.services.uploads.close_many([u["id"] for u in idle], "aborted", iso(self.now)))
        uploads = [upload for upload in idle if upload["id"] in closed]
        for upload in uploads:
            budget.take(1)
            try:
                await self.services.storage.abort_multipart(upload["r2_key"], upload["r2_upload_id"])
            except Exception as error:
                # Already completed (its D1 insert then failed) or expired: the object check follows.
                logger.warning("reconcile: R2 abort of upload %s failed: %s", upload["id"], error)
        if not uploads:
            return
        budget.take(1)
        unowned = await self.audit.unowned_keys([upload["r2_key"] for upload in uploads])
        if unowned:
            budget.take(1)
            await self.services.storage.delete_many(unowned)
            self.report.orphans_deleted += unowned
        self.report.uploads_aborted += [upload["id"] for upload in uploads]
        logger.info("reconcile: aborted %d idle multipart upload(s)", len(uploads))
        # A tus upload's temporary segments (api/tus.py), as the budget allows: a list and a
        # delete each. What is left here the sweep below finds on a later run.
        for upload in uploads:
            if upload["protocol"] == "tus" and budget.can(2):
                budget.take(2)
                await self._delete_segments(upload["id"])
        # Their quota reservations (named by the upload id): released here, one call per owner as
        # the budget allows; the markers the close wrote let the `reservations` step finish.
        for user_id, upload_ids in _by_user(uploads).items():
            if not budget.take(1):
                break
            try:
                await self.services.stats.release(user_id, upload_ids)
            except Exception as error:
                logger.warning("reconcile: releasing reservations of %s failed: %s", user_id, error)

    async def _delete_segments(self, upload_id: str) -> None:
        try:
            listed, _ = await self.services.storage.list_after(segment_prefix(upload_id), "")
            if listed:
                await self.services.storage.delete_many([key for key, _ in listed])
        except Exception as error:
            logger.warning("reconcile: deleting the segments of tus upload %s failed: %s", upload_id, error)

    async def legacy_vectors(self, budget: Budget, cursor: Any) -> dict[str, bool] | None:
        if cursor and cursor.get("done"):
            return cursor
        if not budget.can(3):
            return cursor
        budget.take(1)
        rows = await self.audit.legacy_vectors(LEGACY_VECTOR_BATCH)
        if not rows:
            return {"done": True}
        live = [
            (row["user_id"], row["file_id"], row["chunk_index"], _floats(bytes.fromhex(row["embedding"])))
            for row in rows
            if row["live"]
        ]
        if live:
            budget.take(1)
            await self.services.vectors.upsert_chunks(live)
        budget.take(1)
        await self.audit.drop_legacy_vectors([row["row"] for row in rows])
        self.report.vectors_moved += len(live)
        return cursor

    async def _agrees(self, user_id: str) -> bool:
        """Whether a user's UserStats counts what D1 holds (two calls)."""
        count, total = await self.audit.live_totals(user_id)
        stats = await self.services.stats.stats(user_id)
        return (stats["upload_count"], stats["total_bytes"]) == (count, total)

    async def stats(self, budget: Budget, cursor: Any) -> dict[str, Any]:
        position = {"at": "", "id": "", "rebuild": None, "suspect": None, **(cursor or {})}
        while True:
            suspect = position["suspect"]
            if suspect is not None:
                # Disagreed on the last run: an upload or delete in flight then has landed by now,
                # so a user who still disagrees is rebuilt (a rebuild can span many runs).
                if not budget.take(2):
                    break
                agrees = await self._agrees(suspect)
                rebuild = None if agrees else {"user": suspect, "after": ""}
                position = {**position, "suspect": None, "rebuild": rebuild}
                continue
            rebuild = position["rebuild"]
            if rebuild is not None:
                if not budget.take(2):
                    break
                user_id, after = rebuild["user"], rebuild["after"]
                as_of = iso(datetime.now(UTC))
                page = await self.audit.live_page(user_id, after, STATS_PAGE)
                last = len(page) < STATS_PAGE
                upto = None if last else page[-1]["file_id"]
                await self.services.stats.replace_range(user_id, after, upto, page, as_of)
                if last:
                    position = {**position, "rebuild": None}
                    self.report.stats_rebuilt.append(user_id)
                    logger.info("reconcile: rebuilt the stats of %s from D1", user_id)
                else:
                    position = {**position, "rebuild": {"user": user_id, "after": upto}}
                continue
            if not budget.can(3):  # the changes, then a user's count in D1 and in UserStats
                break
            budget.take(1)
            changes = await self.audit.changed_after((position["at"], position["id"]), self.cutoff, CHANGES_PAGE)
            if not changes:
                break
            checked: set[str] = set()
            for change in changes:
                user_id = change["user_id"]
                if user_id not in checked:
                    if not budget.take(2):
                        return position
                    checked.add(user_id)
                    self.report.stats_checked.append(user_id)
                    if not await self._agrees(user_id):
                        position = {**position, "at": change["updated_at"], "id": change["id"], "suspect": user_id}
                        return position  # confirmed (or not) on the next run
                position = {**position, "at": change["updated_at"], "id": change["id"]}
            if len(changes) < CHANGES_PAGE:
                break
        return position

    async def reservations(self, budget: Budget, cursor: Any) -> None:
        """Releases the reservations of upload requests that died (markers past their lease)."""
        if not budget.can(3):
            return
        budget.take(1)
        markers = await self.audit.expired_reservations(iso(self.now), RESERVATION_BATCH)
        released: list[str] = []
        for user_id, ids in _by_user(markers).items():
            if not budget.can(2):  # this owner's release, and the markers' delete
                break
            budget.take(1)
            try:
                await self.services.stats.release(user_id, ids)
            except Exception as error:
                logger.warning("reconcile: releasing reservations of %s failed: %s", user_id, error)
                continue
            released += ids
        if released:
            budget.take(1)
            await self.audit.drop_reservations(released)
            self.report.reservations_released += released
            logger.info("reconcile: released %d dead upload reservation(s)", len(released))

    async def trash(self, budget: Budget, cursor: Any) -> None:
        """Purges trash past its retention: files marked deleted (purge deletes object, vectors,
        row), then the folders that hold nothing stored any more (leaves first, so a tree goes
        over as many runs as it is deep)."""
        await self._trash_files(budget)
        if budget.can(1):
            budget.take(1)
            dropped = await self.services.folders.drop_expired(self.trash_cutoff, TRASH_BATCH)
            if dropped:
                self.report.folders_dropped += dropped
                logger.info("reconcile: %d trashed folder(s) left the trash after their retention", dropped)

    async def _trash_files(self, budget: Budget) -> None:
        if not budget.can(3):
            return
        budget.take(1)
        rows = await self.audit.trash_expired(self.trash_cutoff, TRASH_BATCH)
        if not rows:
            return
        # As many as the budget can finish this run: the mark, then per owner one uncount in
        # UserStats, and per image one delete of its cached analysis.
        room, chosen, owners = budget.left - 1, [], set()
        for row in rows:
            cost = (row["user_id"] not in owners) + bool(row["image_sha256"])
            if cost > room:
                break
            room -= cost
            chosen.append(row)
            owners.add(row["user_id"])
        if not chosen:
            return
        budget.take(1)
        # Marked as of the real clock, like a delete by its owner: the stats and purge steps then
        # walk these rows in order with the rest (a run's own time may be set ahead in tests).
        marked = set(await self.audit.mark_trash_deleted([row["id"] for row in chosen], iso(datetime.now(UTC))))
        for user_id, ids in _by_user([row for row in chosen if row["id"] in marked]).items():
            budget.take(1)
            try:
                await self.services.stats.record_deletes(user_id, ids)
            except Exception as error:
                # Their counts now disagree with D1: the stats step repairs them.
                logger.warning("reconcile: uncounting purged trash of %s failed: %s", user_id, error)
        for row in chosen:
            if row["id"] in marked and row["image_sha256"]:
                budget.take(1)
                try:
                    await self.services.cache.delete(image_cache_key(row["user_id"], row["image_sha256"]))
                except Exception as error:
                    logger.warning("reconcile: dropping a cached image analysis failed (%s); it expires", error)
        self.report.trash_expired += sorted(marked)
        logger.info("reconcile: %d file(s) left the trash after their retention", len(marked))


def _by_user(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for row in rows:
        owners.setdefault(row["user_id"], []).append(row["id"])
    return owners


def _floats(blob: bytes) -> list[float]:
    values = array("f")
    values.frombytes(blob)
    return values.tolist()

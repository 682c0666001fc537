"""The invariants that must hold after any failure, read straight from the state miniflare
persists (read-only SQLite), independently of the application's own code."""

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path


def database(state: Path, kind: str, *, writable: bool = False) -> sqlite3.Connection:
    """A store's SQLite database, read-only unless `writable` (only while the runtime is stopped)."""
    folder = state / "v3" / kind
    [path] = [p for p in folder.glob("*/*.sqlite") if p.name != "metadata.sqlite"]
    return sqlite3.connect(f"file:{path}?mode={'rw' if writable else 'ro'}", uri=True)


@dataclass
class Snapshot:
    live_rows: dict[str, tuple[str, int, str]]  # r2_key -> (user_id, size_bytes, status), trash included
    objects: dict[str, int]  # r2 key of a file (objects/..., or uploads/... from before) -> size
    open_uploads: dict[str, int]  # user_id -> bytes of their multipart uploads still open

    @classmethod
    def read(cls, state: Path) -> "Snapshot":
        with closing(database(state, "d1")) as d1:
            rows = d1.execute("SELECT r2_key, user_id, size_bytes, status FROM files WHERE deleted_at IS NULL")
            live = {key: (user, size, status) for key, user, size, status in rows}
            uploads = dict(
                d1.execute("SELECT user_id, SUM(size_bytes) FROM uploads WHERE status = 'open' GROUP BY user_id")
            )
        with closing(database(state, "r2")) as r2:
            objects = dict(
                r2.execute("SELECT key, size FROM _mf_objects WHERE key LIKE 'objects/%' OR key LIKE 'uploads/%'")
            )
        return cls(live, objects, uploads)

    def rows_without_objects(self) -> list[str]:
        return sorted(key for key in self.live_rows if key not in self.objects)

    def objects_without_rows(self) -> list[str]:
        return sorted(key for key in self.objects if key not in self.live_rows)

    def pending(self) -> list[str]:
        return sorted(key for key, (_, _, status) in self.live_rows.items() if status == "pending")

    def open_upload_bytes(self, user_id: str) -> int:
        """What the user's quota must hold in reservations once the reconciler has run."""
        return self.open_uploads.get(user_id, 0)

    def totals(self, user_id: str) -> tuple[int, int]:
        sizes = [size for user, size, _ in self.live_rows.values() if user == user_id]
        return len(sizes), sum(sizes)


def owner(key: str) -> str:
    """The user a file's R2 key belongs to: objects/<hour>/<user>/<file> (uploads/<user>/<file>
    before keys were partitioned by hour)."""
    parts = key.split("/")
    return parts[2] if parts[0] == "objects" else parts[1]


# The retention a test runtime keeps trash for (wrangler.toml TRASH_RETENTION_DAYS).
TRASH_RETENTION = timedelta(days=30)


def reconciler_behind(state: Path, now: datetime | None = None) -> list[str]:
    """The reconciler steps whose cursors have not reached the newest row they walk (each run
    does a bounded amount, so a backlog takes several runs), and, as of `now` (the runs' time),
    those with work due: reservation markers past their lease, trash past its retention."""
    now = now or datetime.now(UTC)
    due = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    expired = (now - TRASH_RETENTION).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with closing(database(state, "d1")) as d1:
        markers = d1.execute("SELECT COUNT(*) FROM upload_reservations WHERE expires_at <= ?", (due,)).fetchone()[0]
        old_trash = d1.execute(
            "SELECT COUNT(*) FROM files WHERE deleted_at IS NULL AND trashed_at IS NOT NULL AND trashed_at < ?",
            (expired,),
        ).fetchone()[0]
        cursors = {step: json.loads(value) for step, value in d1.execute("SELECT step, cursor FROM reconciler_cursors")}
        newest_change = d1.execute(
            "SELECT updated_at, id FROM files ORDER BY updated_at DESC, id DESC LIMIT 1"
        ).fetchone()
        newest_delete = d1.execute(
            "SELECT deleted_at, id FROM files WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC LIMIT 1"
        ).fetchone()
        pending = d1.execute("SELECT COUNT(*) FROM files WHERE status = 'pending' AND deleted_at IS NULL").fetchone()
    behind = []
    stats = cursors.get("stats")
    if newest_change and (
        stats is None or stats["rebuild"] or stats.get("suspect") or (stats["at"], stats["id"]) < tuple(newest_change)
    ):
        behind.append("stats")
    purge = cursors.get("purge")
    if newest_delete and (purge is None or (purge["at"], purge["id"]) < tuple(newest_delete)):
        behind.append("purge")
    if pending[0]:
        behind.append("pending")
    if markers:
        behind.append("reservations")
    if old_trash:
        behind.append("trash")
    return behind


def vectors_of(state: Path, file_id: str) -> list[str]:
    """The ids of a file's vectors in the local Vectorize index ("<pending mutations>" while any
    mutation is not applied yet: those are what the index will hold)."""
    path = state / "v3" / "vectorize" / "edgefiles-chunks.sqlite"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        applied = [row[0] for row in db.execute("SELECT id FROM vectors WHERE id LIKE ?", (f"{file_id}:%",))]
        pending = db.execute("SELECT COUNT(*) FROM mutations").fetchone()[0]
    return applied if pending == 0 else [*applied, "<pending mutations>"]


def consumer_idle(state: Path) -> bool:
    """No live file waits for the queue consumer (whose results are written with a DB.batch)."""
    with closing(database(state, "d1")) as d1:
        return (
            d1.execute("SELECT COUNT(*) FROM files WHERE status = 'pending' AND deleted_at IS NULL").fetchone()[0] == 0
        )

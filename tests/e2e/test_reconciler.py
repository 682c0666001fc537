"""The reconciler (services/reconciler.py) on its own runtime, so the cursors it keeps in D1 start
empty and a run "as of" a later hour affects no other test: orphans in time-partitioned keys,
deleted files whose object and vector deletes failed, and a budget no run exceeds."""

import hashlib
import json
import sqlite3
import sys
import time
from array import array
from collections.abc import Iterator
from contextlib import closing

import pytest

from api_client import ADMIN_TOKEN, SIGNING_KEY, UserFactory, settled, upload
from invariants import Snapshot, consumer_idle, database, owner, vectors_of
from runtime_harness import ROOT, Runtime, running, wait_for

sys.path.insert(0, str(ROOT / "bench"))
from scale_state import HEAVY_USER, create_stores, populate

pytestmark = pytest.mark.e2e

BUDGET = 40
HOUR_MS = 3600 * 1000


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    state = tmp_path_factory.mktemp("reconciler-state")
    args = [
        f"--var=ADMIN_TOKEN:{ADMIN_TOKEN}",
        f"--var=SIGNING_KEY:{SIGNING_KEY}",
        "--var=RETRY_BASE_SECONDS:1",
        "--var=RECONCILE_GRACE_MINUTES:0",
        f"--var=RECONCILE_BUDGET:{BUDGET}",
        "--vectorize-delay-ms=200",
    ]
    with running(ROOT / "wrangler.toml", state, state / "runtime.log", args=args) as started:
        yield started


@pytest.fixture
def users(runtime: Runtime) -> Iterator[UserFactory]:
    factory = UserFactory(runtime)
    yield factory
    factory.close()


def reconcile(runtime: Runtime, at_ms: int | None = None) -> dict:
    """One cron run (as of `at_ms`), and its trace; no run makes more binding calls than the budget."""
    response = runtime.client.get("/__scheduled", params={} if at_ms is None else {"time": str(at_ms)})
    response.raise_for_status()
    trace = runtime.trace(response)
    made = [c for c in trace["calls"] if not c["sync"]]
    assert len(made) <= BUDGET, f"{len(made)} binding calls in one run: {[(c['binding'], c['method']) for c in made]}"
    return trace


def cursor(runtime: Runtime, step: str) -> dict:
    with closing(database(runtime.persist_to, "d1")) as d1:
        [[value]] = d1.execute("SELECT cursor FROM reconciler_cursors WHERE step = ?", (step,)).fetchall()
    return json.loads(value)


def test_an_orphan_object_is_deleted_once_its_hour_is_over(runtime: Runtime, users: UserFactory) -> None:
    user = users.new()
    # The next DB.batch anywhere takes the fault: the consumer must have nothing left to write.
    wait_for(lambda: consumer_idle(runtime.persist_to), timeout=60, what="the consumer to be idle")
    with runtime.fault("DB.batch"), runtime.fault("STORAGE.delete"):
        failed = upload(user, "orphan.txt", b"row never written, clean-up failed too")
    assert failed.status_code == 503
    [orphan] = [key for key in Snapshot.read(runtime.persist_to).objects_without_rows() if owner(key) == user.user_id]
    assert orphan.startswith("objects/")
    # This hour is not over: an upload into it may still be writing its row.
    reconcile(runtime)
    assert orphan in Snapshot.read(runtime.persist_to).objects
    trace = reconcile(runtime, int(time.time() * 1000) + 2 * HOUR_MS)
    assert ("STORAGE", "delete") in [(c["binding"], c["method"]) for c in trace["calls"]]
    assert orphan not in Snapshot.read(runtime.persist_to).objects
    assert [line for line in runtime.log_text().splitlines() if "orphan object" in line and orphan in line]
    # The hour is done: the cursor is past it, so no later run lists it again.
    assert cursor(runtime, "orphans") == {"hour": orphan.split("/")[1], "after": orphan, "done": True}


def test_a_deleted_file_whose_deletes_failed_is_purged(runtime: Runtime, users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "notes.txt", b"Alpha paragraph.\n\nBeta paragraph about deletion.").json()
    assert settled(user, file["id"])["status"] == "completed"
    wait_for(
        lambda: (
            vectors_of(runtime.persist_to, file["id"])
            and "<pending mutations>" not in vectors_of(runtime.persist_to, file["id"])
        )
    )
    assert vectors_of(runtime.persist_to, file["id"])
    assert user.client.delete(f"/api/files/{file['id']}").status_code == 204  # to the trash
    with runtime.fault("STORAGE.delete"), runtime.fault("VECTORS.deleteByIds"):
        assert user.client.delete(f"/api/trash/{file['id']}").status_code == 204
    [key] = [k for k in Snapshot.read(runtime.persist_to).objects if k.endswith(file["id"])]
    since = int(time.time() * 1000)
    runtime.reconcile_until_caught_up()
    made = [(c["binding"], c["method"]) for t in runtime.traces("scheduled", since) for c in t["calls"]]
    assert ("VECTORS", "deleteByIds") in made
    assert key not in Snapshot.read(runtime.persist_to).objects
    wait_for(lambda: vectors_of(runtime.persist_to, file["id"]) == [], what="the vectors to be deleted")
    # The purge cursor has moved past it, and its row is gone: nothing of the file is left.
    assert cursor(runtime, "purge")["id"] == file["id"]
    with closing(database(runtime.persist_to, "d1")) as d1:
        assert d1.execute("SELECT COUNT(*) FROM files WHERE id = ?", (file["id"],)).fetchone() == (0,)


def test_deleting_a_file_removes_it_from_both_search_indexes(runtime: Runtime, users: UserFactory) -> None:
    user = users.new()
    body = b"The zebra-crossing budget for 2027 is code ZX-4471.\n\nIt funds painted crossings."
    file = upload(user, "zebra.txt", body).json()
    settled(user, file["id"])

    def found(mode: str) -> list[str]:
        results = user.client.get("/api/search", params={"q": "ZX-4471 zebra crossing", "mode": mode}).json()
        return [r["file"]["id"] for r in results["results"]]

    assert found("keyword") == [file["id"]]
    wait_for(lambda: found("semantic") == [file["id"]], what="the vectors to become visible")
    user.client.delete(f"/api/files/{file['id']}").raise_for_status()
    assert found("keyword") == []  # in the trash: hidden from every search at once
    assert found("semantic") == []
    user.client.delete(f"/api/trash/{file['id']}").raise_for_status()
    assert found("keyword") == []
    assert found("semantic") == []  # the D1 join hides it at once; Vectorize drops it shortly
    wait_for(lambda: vectors_of(runtime.persist_to, file["id"]) == [], what="Vectorize to drop the vectors")


def test_stats_of_thousands_of_files_are_rebuilt_page_by_page_within_a_small_budget(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """2,700 files of one user whose UserStats lost half its rows: a budget of 6 calls per run
    rebuilds it a page (1,000 files) at a time, across runs, and no run exceeds its budget."""
    state = tmp_path_factory.mktemp("stats-rebuild")
    args = [f"--var=ADMIN_TOKEN:{ADMIN_TOKEN}", "--var=RECONCILE_GRACE_MINUTES:0", "--var=RECONCILE_BUDGET:6"]
    key = create_stores(state, ADMIN_TOKEN, [HEAVY_USER], args)[HEAVY_USER]
    built = populate(state, 3000, max_chunks=0, max_objects=3000)
    # Embeddings from before Vectorize (migration 0005 moved them to legacy_chunk_vectors): two of
    # a live file, one of a file that no longer exists.
    legacy_file = built.heavy_files[0]
    blob = array("f", [0.5] * 768).tobytes()
    with closing(database(state, "d1", writable=True)) as d1:
        d1.executemany(
            "INSERT INTO legacy_chunk_vectors (file_id, user_id, chunk_index, embedding) VALUES (?, ?, ?, ?)",
            [(legacy_file, HEAVY_USER, 0, blob), (legacy_file, HEAVY_USER, 1, blob), ("gone", HEAVY_USER, 0, blob)],
        )
        d1.commit()
    directory = (state / "v3" / "do" / "edgefiles-UserStats").resolve()
    stats_file = directory / f"{hashlib.sha256(f'{directory}\0{HEAVY_USER}'.encode()).hexdigest()}.sqlite"
    with closing(sqlite3.connect(stats_file)) as db:
        db.execute("DELETE FROM uploads WHERE rowid % 2 = 0")
        db.execute("UPDATE totals SET upload_count = (SELECT COUNT(*) FROM uploads)")
        db.commit()
    with running(ROOT / "wrangler.toml", state, state / "second.log", args=args) as runtime:
        headers = {"authorization": f"Bearer {key}"}
        truth = Snapshot.read(state).totals(HEAVY_USER)
        assert truth[0] == 2701  # 90% of 3,000, and the seed
        assert runtime.client.get("/api/stats", headers=headers).json()["upload_count"] < truth[0]
        rebuilding_runs = 0
        for _ in range(60):
            response = runtime.client.get("/__scheduled")
            made = [c for c in runtime.trace(response)["calls"] if not c["sync"]]
            assert len(made) <= 6, [(c["binding"], c["method"]) for c in made]
            rebuilding_runs += cursor(runtime, "stats").get("rebuild") is not None
            stats = runtime.client.get("/api/stats", headers=headers).json()
            if (stats["upload_count"], stats["total_bytes"]) == truth and not cursor(runtime, "stats")["rebuild"]:
                break
        else:
            raise AssertionError(f"stats still {stats} after 60 runs; D1 says {truth}")
        assert rebuilding_runs >= 2, "a rebuild of 2,701 files should span runs"
        assert stats["by_content_type"]["text/plain"] > 0
        # The small budget reached every step in turn: the legacy embeddings moved too.
        wait_for(
            lambda: sorted(vectors_of(runtime.persist_to, legacy_file)) == [f"{legacy_file}:0", f"{legacy_file}:1"]
        )
        assert vectors_of(runtime.persist_to, "gone") == []
        with closing(database(state, "d1")) as d1:
            assert d1.execute("SELECT COUNT(*) FROM legacy_chunk_vectors").fetchone() == (0,)

"""The fault matrix: a failure injected at each binding call of the upload, trash, delete,
multipart and consumer paths, then the queue drained and the reconciler run. Afterwards the
invariants hold: every live row has its object, no object lacks a row, nothing stays pending,
the user's stats equal what D1 says they own, and their quota holds exactly that plus the
uploads still open (no reservation outlives its upload)."""

import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from api_client import User, UserFactory, upload
from invariants import Snapshot, owner
from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024


@dataclass(frozen=True)
class Site:
    """A call site: `target` is the binding method that fails, after `skip` calls of it went
    through."""

    name: str
    target: str
    run: Callable[[Runtime, User], None] | None = None
    skip: int = 0


def do_upload(runtime: Runtime, user: User) -> None:
    upload(user, "matrix.txt", b"fault matrix text " * 20)


def setup_file(user: User) -> str:
    return upload(user, "victim.txt", b"to be deleted").json()["id"]


def do_multipart(runtime: Runtime, user: User) -> None:
    data = os.urandom(8 * MiB + 100)
    plan = user.client.post(
        "/api/uploads", json={"filename": "big.bin", "content_type": "application/octet-stream", "size": len(data)}
    )
    if plan.status_code != 201:
        return
    base = f"/api/uploads/{plan.json()['upload_id']}"
    user.client.put(f"{base}/parts/1", content=data[: 8 * MiB])
    user.client.put(f"{base}/parts/2", content=data[8 * MiB :])
    user.client.post(f"{base}/complete")


SITES = [
    Site("upload/auth-lookup", "DB.first", do_upload),
    # The quota reservation (in UserStats) and its marker (in D1) are written in parallel.
    Site("upload/reserve-rpc", "USER_STATS.reserve", do_upload),
    Site("upload/reserve-marker", "DB.run", do_upload),
    Site("upload/r2-put", "STORAGE.put", do_upload),
    # The file's row and the marker's delete: one batch.
    Site("upload/d1-insert", "DB.batch", do_upload),
    Site("upload/queue-send", "QUEUE.send", do_upload),
    Site("upload/stats-rpc", "USER_STATS.record_upload", do_upload),
    # The key was verified when the file was made, so moving the row to the trash is the
    # delete's first D1 call.
    Site("trash/d1-mark", "DB.first"),
    Site("trash/kv-delete", "CACHE.delete"),
    Site("trash/event-rpc", "USER_STATS.file_trashed"),
    # Deleting from the trash for good: marking the row deleted (and purging its text, one batch).
    Site("purge/d1-mark", "DB.batch"),
    Site("purge/r2-delete", "STORAGE.delete"),
    Site("purge/stats-rpc", "USER_STATS.record_delete"),
    Site("multipart/reserve-rpc", "USER_STATS.reserve", do_multipart),
    Site("multipart/r2-create", "STORAGE.createMultipartUpload", do_multipart),
    # The upload's row and the reservation marker's delete: one batch.
    Site("multipart/d1-insert", "DB.batch", do_multipart),
    Site("multipart/r2-part", "STORAGE.uploadPart", do_multipart),
    Site("multipart/d1-part", "DB.batch", do_multipart, skip=1),
    Site("multipart/r2-complete", "STORAGE.complete", do_multipart),
    # The fourth batch of the path: the file's row, written once R2 has assembled the parts.
    Site("multipart/d1-file-insert", "DB.batch", do_multipart, skip=3),
    Site("multipart/queue-send", "QUEUE.send", do_multipart),
    Site("multipart/stats-rpc", "USER_STATS.record_upload", do_multipart),
    Site("consumer/d1-read", "DB.first"),
    Site("consumer/r2-read", "STORAGE.get"),
    Site("consumer/ai-budget", "USER_STATS.charge_ai_many"),
    Site("consumer/ai", "AI.run"),
    Site("consumer/d1-batch", "DB.batch"),
]


def check_invariants(runtime: Runtime, user: User) -> None:
    runtime.client.get("/__scheduled").raise_for_status()

    def settled() -> Snapshot | None:
        snapshot = Snapshot.read(runtime.persist_to)
        return None if any(owner(key) == user.user_id for key in snapshot.pending()) else snapshot

    wait_for(settled, timeout=60, what="the user's files to leave pending")
    runtime.reconcile_until_caught_up()
    snapshot = Snapshot.read(runtime.persist_to)
    assert [k for k in snapshot.rows_without_objects() if owner(k) == user.user_id] == []
    assert [k for k in snapshot.objects_without_rows() if owner(k) == user.user_id] == []
    stats = user.client.get("/api/stats").json()
    assert (stats["upload_count"], stats["total_bytes"]) == snapshot.totals(user.user_id)
    quota = stats["quota"]
    assert quota["used_bytes"] == snapshot.totals(user.user_id)[1]
    assert quota["reserved_bytes"] == snapshot.open_upload_bytes(user.user_id)


@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_invariants_hold_after_a_failure_at(edgefiles: Runtime, users: UserFactory, site: Site) -> None:
    user = users.new("matrix")
    path, _, _ = site.name.partition("/")
    if path == "trash":
        file_id = setup_file(user)
        with edgefiles.fault(site.target, skip=site.skip):
            response = user.client.delete(f"/api/files/{file_id}")
        assert response.status_code in (204, 500)
    elif path == "purge":
        file_id = setup_file(user)
        assert user.client.delete(f"/api/files/{file_id}").status_code == 204
        with edgefiles.fault(site.target, skip=site.skip):
            response = user.client.delete(f"/api/trash/{file_id}")
        assert response.status_code in (204, 500)
    elif path == "consumer":
        with edgefiles.fault(site.target):
            upload(user, "consumed.txt", b"processed in the background " * 10)
            wait_for(lambda: not edgefiles.client.get("/__runtime/faults").json(), timeout=30, what="the fault to fire")
    else:
        with edgefiles.fault(site.target, skip=site.skip):
            site.run(edgefiles, user)
    check_invariants(edgefiles, user)

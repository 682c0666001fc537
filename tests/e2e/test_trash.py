"""Trash: deleting moves a file out of sight but keeps its bytes (and its place in the quota);
restoring brings back the same bytes; the reconciler purges what outlives the retention and
leaves nothing of it: no row, chunk, vector, cache entry or object."""

import hashlib
import os
import time
from contextlib import closing

import pytest

from api_client import User, UserFactory, settled, upload
from invariants import database, owner, vectors_of
from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e

DAY_MS = 24 * 3600 * 1000


def trash_ids(user: User) -> list[str]:
    return [item["id"] for item in user.client.get("/api/trash").json()["items"]]


def test_trash_then_restore_brings_back_identical_bytes(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("trash")
    body = os.urandom(300_000)
    file = upload(user, "keep.bin", body, "application/octet-stream").json()
    quota_before = user.client.get("/api/stats").json()["quota"]
    assert user.client.delete(f"/api/files/{file['id']}").status_code == 204

    assert user.client.get(f"/api/files/{file['id']}").status_code == 404
    assert file["id"] not in [f["id"] for f in user.client.get("/api/files").json()["items"]]
    [item] = user.client.get("/api/trash").json()["items"]
    assert item["id"] == file["id"] and item["trashed_at"] and item["purge_after"] > item["trashed_at"]
    # Still stored, still counted.
    assert user.client.get("/api/stats").json()["quota"]["used_bytes"] == quota_before["used_bytes"]
    assert user.client.delete(f"/api/files/{file['id']}").status_code == 404

    restored = user.client.post(f"/api/trash/{file['id']}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == file["id"]
    content = user.client.get(f"/api/files/{file['id']}/content").content
    assert hashlib.sha256(content).hexdigest() == hashlib.sha256(body).hexdigest()
    assert trash_ids(user) == []
    assert user.client.post(f"/api/trash/{file['id']}/restore").status_code == 404
    other = users.new("trash")
    assert other.client.post(f"/api/trash/{file['id']}/restore").status_code == 404


def test_a_trashed_text_file_leaves_search_and_comes_back_with_restore(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("trash")
    file = settled(user, upload(user, "menu.txt", b"saffron risotto with parmesan").json()["id"])

    def found() -> list[str]:
        results = user.client.get("/api/search", params={"q": "saffron", "mode": "keyword"}).json()["results"]
        return [r["file"]["id"] for r in results]

    assert found() == [file["id"]]
    user.client.delete(f"/api/files/{file['id']}")
    assert found() == []
    user.client.post(f"/api/trash/{file['id']}/restore")
    assert found() == [file["id"]]


def test_deleting_for_good_and_emptying_the_trash(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("trash")
    ids = [upload(user, f"e{i}.txt", f"entry {i}".encode()).json()["id"] for i in range(45)]
    for file_id in ids:
        assert user.client.delete(f"/api/files/{file_id}").status_code == 204
    assert user.client.delete(f"/api/trash/{ids[0]}").status_code == 204
    assert user.client.delete(f"/api/trash/{ids[0]}").status_code == 404
    first = user.client.delete("/api/trash").json()
    assert first == {"deleted": 40, "more": True}
    second = user.client.delete("/api/trash").json()
    assert second == {"deleted": 4, "more": False}
    stats = user.client.get("/api/stats").json()
    assert (stats["upload_count"], stats["quota"]["used_bytes"]) == (0, 0)


def test_purge_after_retention_leaves_no_row_chunk_vector_cache_entry_or_object(
    edgefiles: Runtime, users: UserFactory
) -> None:
    user = users.new("purge")
    text = settled(user, upload(user, "long.txt", b"retention policy notes " * 400).json()["id"])
    image = settled(user, upload(user, "pic.png", b"\x89PNG\r\n\x1a\n" + os.urandom(2000), "image/png").json()["id"])
    kept = upload(user, "kept.txt", b"not trashed").json()["id"]
    assert text["ai_analysis"]["chunks"] > 0 and image["ai_analysis"]["sha256"]
    user.client.get(f"/api/files/{text['id']}")  # cached
    time.sleep(1.2)  # KV takes one write per key per second: the trash's cache delete must land
    for file_id in (text["id"], image["id"]):
        assert user.client.delete(f"/api/files/{file_id}").status_code == 204
    gone = {text["id"], image["id"]}

    edgefiles.reconcile_until_caught_up(at_ms=int(time.time() * 1000) + 29 * DAY_MS)
    assert set(trash_ids(user)) == gone  # within the retention, nothing is purged

    # The trash step takes what its share of each run's budget pays for (earlier tests may have
    # left trash too): runs until this user's is gone, then until stats and purge caught up.
    later = int(time.time() * 1000) + 31 * DAY_MS

    def purged() -> bool:
        edgefiles.client.get("/__scheduled", params={"time": str(later)}).raise_for_status()
        return trash_ids(user) == []

    wait_for(purged, timeout=120, interval=0, what="the trash past its retention to be purged")
    edgefiles.reconcile_until_caught_up(at_ms=later)
    state = edgefiles.persist_to
    with closing(database(state, "d1")) as d1:
        marks = ",".join("?" * len(gone))
        assert d1.execute(f"SELECT COUNT(*) FROM files WHERE id IN ({marks})", [*gone]).fetchone()[0] == 0  # noqa: S608
        assert d1.execute("SELECT COUNT(*) FROM chunks WHERE file_id = ?", [text["id"]]).fetchone()[0] == 0
        assert d1.execute("SELECT COUNT(*) FROM files WHERE id = ?", [kept]).fetchone()[0] == 1
    with closing(database(state, "r2")) as r2:
        keys = [key for (key,) in r2.execute("SELECT key FROM _mf_objects WHERE key LIKE 'objects/%'")]
        assert not [key for key in keys if owner(key) == user.user_id and key.rsplit("/", 1)[1] in gone]
    with closing(database(state, "kv")) as kv:
        cached = [key for (key,) in kv.execute("SELECT key FROM _mf_entries")]
        assert not [key for key in cached if user.user_id in key]  # neither metadata nor image analysis
    wait_for(lambda: vectors_of(state, text["id"]) == [], what="Vectorize to drop the vectors")
    stats = user.client.get("/api/stats").json()
    assert stats["upload_count"] == 1 and stats["quota"]["reserved_bytes"] == 0

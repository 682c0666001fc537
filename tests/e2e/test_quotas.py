"""Quotas reserved atomically in the user's UserStats object, rate limits on the expensive
routes, and the daily AI budget: what one key can no longer do to everyone's bill."""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api_client import User, UserFactory, settled, upload
from invariants import Snapshot, owner
from runtime_harness import Runtime

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024


def set_quota(users: UserFactory, user: User, **limits: int | None) -> dict:
    response = users.admin().put(f"/api/admin/users/{user.user_id}/quota", json=limits)
    assert response.status_code == 200, response.text
    return response.json()


def usage(user: User) -> dict:
    return user.client.get("/api/stats").json()["quota"]


def test_16_concurrent_uploads_over_the_quota_store_no_more_than_it(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("quota")
    set_quota(users, user, max_bytes=1_000_000)
    bodies = [os.urandom(150_000) for _ in range(16)]  # 2.4 MB against 1 MB

    def send(index: int) -> httpx.Response:
        with httpx.Client(base_url=edgefiles.url, headers={"authorization": f"Bearer {user.key}"}, timeout=60) as c:
            return c.put(
                f"/api/files/part-{index}.bin",
                content=bodies[index],
                headers={"content-type": "application/octet-stream"},
            )

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(send, range(16)))
    stored = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(stored) == 6, [r.status_code for r in responses]  # 6 x 150 kB fit in 1 MB, 7 do not
    for response in refused:
        assert response.status_code == 413
        problem = response.json()
        assert problem["title"] == "Quota exceeded" and problem["quota_bytes"] == 1_000_000
        assert problem["remaining_bytes"] < 150_000
        assert "bytes left" in problem["detail"]
    snapshot = Snapshot.read(edgefiles.persist_to)
    mine = [key for key in snapshot.objects if owner(key) == user.user_id]
    assert len(mine) == 6 and sum(snapshot.objects[key] for key in mine) <= 1_000_000
    assert snapshot.totals(user.user_id) == (6, 900_000)
    now = usage(user)
    assert (now["used_bytes"], now["reserved_bytes"], now["remaining_bytes"]) == (900_000, 0, 100_000)
    # What stays within the quota still goes through, and the quota counts files too.
    assert upload(user, "small.bin", os.urandom(99_000), "application/octet-stream").status_code == 201
    set_quota(users, user, max_bytes=None, max_files=7)
    over = upload(user, "one-more.bin", b"x", "application/octet-stream")
    assert over.status_code == 413 and over.json()["remaining_files"] == 0
    set_quota(users, user, max_files=None)
    actions = [e["action"] for e in users.admin().get(f"/api/admin/users/{user.user_id}/audit").json()["items"]]
    assert actions.count("quota.changed") == 3 and "key.created" in actions


def test_a_multipart_upload_holds_its_size_until_completed_or_aborted(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("quota")
    set_quota(users, user, max_bytes=20 * MiB)
    plan = {"filename": "video.mp4", "content_type": "application/octet-stream", "size": 12 * MiB}
    first = user.client.post("/api/uploads", json=plan)
    assert first.status_code == 201
    assert usage(user)["reserved_bytes"] == 12 * MiB
    second = user.client.post("/api/uploads", json=plan)
    assert second.status_code == 413 and second.json()["reserved_bytes"] == 12 * MiB
    assert user.client.delete(f"/api/uploads/{first.json()['upload_id']}").status_code == 204
    assert usage(user)["reserved_bytes"] == 0
    third = user.client.post("/api/uploads", json={**plan, "size": 10 * MiB + 1})
    assert third.status_code == 201
    base = f"/api/uploads/{third.json()['upload_id']}"
    data = os.urandom(10 * MiB + 1)
    part = third.json()["part_size"]
    for number, start in enumerate(range(0, len(data), part), 1):
        assert user.client.put(f"{base}/parts/{number}", content=data[start : start + part]).status_code == 200
    assert user.client.post(f"{base}/complete").status_code == 201
    after = usage(user)
    assert (after["used_bytes"], after["reserved_bytes"]) == (10 * MiB + 1, 0)


def test_an_idle_multipart_upload_and_a_dead_request_release_their_reservations_on_reconcile(
    edgefiles: Runtime, users: UserFactory
) -> None:
    user = users.new("quota")
    plan = {"filename": "left.bin", "content_type": "application/octet-stream", "size": 7 * MiB}
    assert user.client.post("/api/uploads", json=plan).status_code == 201
    # A single-request upload whose request dies after reserving: the reservation call answers,
    # the R2 write never happens, and neither does the release (the release fails too).
    with edgefiles.fault("STORAGE.put"), edgefiles.fault("USER_STATS.release"):
        failed = upload(user, "dies.txt", b"x" * 5000)
    assert failed.status_code == 503
    held = usage(user)
    assert held["reserved_bytes"] == 7 * MiB + 5000 and held["reserved_files"] == 2
    # Two days later: the upload has been idle for more than a day, the request's lease is over.
    edgefiles.reconcile_until_caught_up(at_ms=int(time.time() * 1000) + 2 * 24 * 3600 * 1000)
    released = usage(user)
    assert (released["reserved_bytes"], released["reserved_files"], released["used_bytes"]) == (0, 0, 0)


def test_rate_limited_routes_answer_429_with_retry_after(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("limits")
    # SEARCH_LIMITER allows 120 a minute (wrangler.toml); the window may turn once mid-run, so
    # up to twice that is sent before a refusal is required.
    statuses = []
    for _ in range(241):
        response = user.client.get("/api/search", params={"q": "anything", "mode": "keyword"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429, statuses[-5:]
    assert 120 <= len(statuses) - 1 <= 240
    assert response.headers["retry-after"] == "60"
    assert response.json()["status"] == 429
    # Another user is not affected.
    assert users.new("limits").client.get("/api/search", params={"q": "x", "mode": "keyword"}).status_code == 200


def test_summary_streams_are_rate_limited(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("limits")
    file = settled(user, upload(user, "s.txt", b"a short text to summarise").json()["id"])
    codes = []
    for _ in range(41):
        codes.append(user.client.get(f"/api/files/{file['id']}/summary", params={"stream": "1"}).status_code)
        if codes[-1] == 429:
            break
    assert codes[-1] == 429 and set(codes[:-1]) == {200} and 20 <= len(codes) - 1 <= 40


def test_past_the_daily_ai_budget_files_are_stored_but_not_analysed(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("budget")
    set_quota(users, user, ai_daily_calls=4)  # two analysed text files
    ids = [upload(user, f"n{i}.txt", f"note number {i} about apples".encode()).json()["id"] for i in range(3)]
    files = [settled(user, file_id) for file_id in ids]
    assert [f["status"] for f in files] == ["completed"] * 3
    skipped = [f for f in files if "skipped" in (f["ai_analysis"] or {})]
    assert len(skipped) == 1 and "budget" in skipped[0]["ai_analysis"]["skipped"]
    assert user.client.get(f"/api/files/{skipped[0]['id']}/content").content.startswith(b"note number")
    # The budget covers the request path too: a summary stream is refused until midnight UTC.
    refused = user.client.get(f"/api/files/{ids[0]}/summary", params={"stream": "1"})
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 86400
    # Hybrid search answers from keywords alone; semantic is refused.
    hybrid = user.client.get("/api/search", params={"q": "apples"}).json()
    assert hybrid["modes"] == ["keyword"] and hybrid["results"]
    assert user.client.get("/api/search", params={"q": "apples", "mode": "semantic"}).status_code == 429


def test_a_multipart_completion_racing_an_abort_never_passes_the_quota(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("quota")
    set_quota(users, user, max_bytes=12 * MiB)
    auth = {"authorization": f"Bearer {user.key}"}
    for round_ in range(6):
        plan = {"filename": f"race{round_}.bin", "content_type": "application/octet-stream", "size": 6 * MiB}
        upload_id = user.client.post("/api/uploads", json=plan).json()["upload_id"]
        base = f"/api/uploads/{upload_id}"
        part = user.client.put(f"{base}/parts/1", content=os.urandom(6 * MiB))
        assert part.status_code == 200, part.text

        def act(action: str, base: str = base) -> int:
            with httpx.Client(base_url=edgefiles.url, headers=auth, timeout=60) as client:
                return (client.post(f"{base}/complete") if action == "complete" else client.delete(base)).status_code

        with ThreadPoolExecutor(2) as pool:
            completed, aborted = pool.map(act, ["complete", "abort"])
        # Exactly one of them wins; the other finds no upload in progress.
        assert sorted([completed, aborted]) in ([201, 404], [204, 404]), (completed, aborted)
        now = usage(user)
        assert now["used_bytes"] + now["reserved_bytes"] <= 12 * MiB
        assert now["reserved_bytes"] == 0
        for file in user.client.get("/api/files").json()["items"]:  # room for the next round
            user.client.delete(f"/api/files/{file['id']}")
            user.client.delete(f"/api/trash/{file['id']}")


def test_strangers_sending_through_a_file_request_cannot_use_up_the_owners_ai_budget(
    edgefiles: Runtime, users: UserFactory
) -> None:
    owner = users.new("budget")
    set_quota(users, owner, ai_daily_calls=4)
    request = owner.client.post("/api/file-requests", json={}).json()
    sender = users.anonymous()
    for i in range(3):
        sent = sender.put(
            f"{request['url']}/files/junk{i}.txt", content=b"junk", headers={"content-type": "text/plain"}
        )
        assert sent.status_code == 201
    received = owner.client.get("/api/files", params={"file_request_id": request["id"]}).json()["items"]
    analysed = [settled(owner, f["id"]) for f in received]
    assert sum("skipped" not in (f["ai_analysis"] or {}) for f in analysed) == 1  # half the budget: 2 calls
    own = settled(owner, upload(owner, "mine.txt", b"the owner's own notes").json()["id"])
    assert "skipped" not in own["ai_analysis"] and own["ai_analysis"]["summary"]

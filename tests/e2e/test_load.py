"""Load: concurrent clients mixing uploads, reads, range reads, deletes and signed-link downloads
for a bounded time. No unexpected error, and the invariants hold afterwards.

`make test` runs it briefly; `make soak` sets SOAK_SECONDS for a long run."""

import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api_client import User, UserFactory
from invariants import Snapshot, owner
from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e

CLIENTS = 32
SECONDS = float(os.environ.get("SOAK_SECONDS", "8"))


def client_loop(runtime: Runtime, user: User, deadline: float, seed: int, outcomes: Counter, lock) -> None:
    rng = random.Random(seed)
    mine: list[tuple[str, bytes]] = []
    with httpx.Client(base_url=runtime.url, headers={"authorization": f"Bearer {user.key}"}, timeout=60) as http:
        while time.monotonic() < deadline:
            action = rng.choice(["upload", "upload", "read", "range", "delete", "link"]) if mine else "upload"
            if action == "upload":
                body = rng.randbytes(rng.choice([10, 1000, 100_000]))
                response = http.put(
                    f"/api/files/load{seed}.bin", content=body, headers={"content-type": "application/octet-stream"}
                )
                ok = response.status_code == 201
                if ok:
                    mine.append((response.json()["id"], body))
            else:
                file_id, body = rng.choice(mine)
                if action == "read":
                    response = http.get(f"/api/files/{file_id}/content")
                    ok = response.status_code == 200 and response.content == body
                elif action == "range":
                    start = rng.randrange(len(body))
                    response = http.get(f"/api/files/{file_id}/content", headers={"range": f"bytes={start}-"})
                    ok = response.status_code == 206 and response.content == body[start:]
                elif action == "delete":
                    response = http.delete(f"/api/files/{file_id}")
                    ok = response.status_code == 204
                    mine.remove((file_id, body))
                else:
                    response = link = http.post(f"/api/files/{file_id}/links", json={"expires_in": 60})
                    if link.status_code == 201:
                        response = httpx.get(runtime.url + link.json()["url"], timeout=60)
                    ok = response.status_code == 200 and response.content == body
            # A rate limit (uploads begun, links made: wrangler.toml's [[ratelimits]]) is an
            # answer a client must expect under this load, with the header that says when to retry.
            limited = response.status_code == 429 and response.headers.get("retry-after") == "60"
            with lock:
                outcomes[(action, "ok" if ok else "limited" if limited else f"unexpected {response.status_code}")] += 1


def test_mixed_load_has_no_unexpected_errors_and_keeps_the_invariants(edgefiles: Runtime, users: UserFactory) -> None:
    accounts = [users.new("load") for _ in range(4)]
    outcomes: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [
            pool.submit(client_loop, edgefiles, accounts[i % len(accounts)], deadline, i, outcomes, lock)
            for i in range(CLIENTS)
        ]
        for future in futures:
            future.result()
    print(f"load outcomes over {SECONDS}s with {CLIENTS} clients: {dict(outcomes)}")
    assert outcomes, "no request was made"
    assert [key for key in outcomes if key[1] not in ("ok", "limited")] == []

    edgefiles.client.get("/__scheduled").raise_for_status()
    users_ = {a.user_id for a in accounts}
    wait_for(
        lambda: not [k for k in Snapshot.read(edgefiles.persist_to).pending() if owner(k) in users_],
        timeout=120,
        what="processing to catch up",
    )
    edgefiles.reconcile_until_caught_up()
    snapshot = Snapshot.read(edgefiles.persist_to)
    assert [k for k in snapshot.rows_without_objects() if owner(k) in users_] == []
    assert [k for k in snapshot.objects_without_rows() if owner(k) in users_] == []
    for account in accounts:
        stats = account.client.get("/api/stats").json()
        assert (stats["upload_count"], stats["total_bytes"]) == snapshot.totals(account.user_id)
        assert stats["quota"]["used_bytes"] == snapshot.totals(account.user_id)[1]
        assert stats["quota"]["reserved_bytes"] == snapshot.open_upload_bytes(account.user_id)

"""Metadata (KV first), content (ranges, conditionals, HEAD), listing, deletion, signed links."""

import time
import uuid

import httpx
import pytest

from api_client import SIGNING_KEY, User, UserFactory, calls, now_ms, queue_calls, settled, upload
from edgefiles.domain.signing import sign
from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e

BODY = bytes(range(256)) * 40  # 10,240 bytes


def read_until_finished(user: User, url: str) -> list[httpx.Response]:
    """Reads a file's metadata until it is finished; every response, for their traces."""
    reads: list[httpx.Response] = []
    wait_for(lambda: reads.append(user.client.get(url)) or reads[-1].json()["status"] != "pending", what="the file")
    return reads


def test_cached_metadata_read_is_one_kv_get(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    file = settled(user, upload(user, "c.txt", b"cached").json()["id"])  # this first read caches it
    response = user.client.get(file["links"]["self"])
    assert response.status_code == 200
    assert calls(edgefiles, response) == [("CACHE", "get")]


def test_a_pending_file_is_read_from_d1_and_a_finished_one_cached_once(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with edgefiles.fault("QUEUE.send"):  # no job: the file stays pending until the reconciler
        file = upload(user, "m.txt", b"not cached yet").json()
    pending = user.client.get(file["links"]["self"])
    assert pending.json()["status"] == "pending"
    assert calls(edgefiles, pending) == [("CACHE", "get"), ("DB", "first")]  # not cached: it will change
    job = {"type": "file_uploaded", "file_id": file["id"], "user_id": user.user_id}
    edgefiles.client.post("/__runtime/queues/QUEUE", json=job).raise_for_status()
    reads = read_until_finished(user, file["links"]["self"])
    assert calls(edgefiles, reads[-1]) == [("CACHE", "get"), ("DB", "first"), ("CACHE", "put")]
    hit = user.client.get(file["links"]["self"])
    assert calls(edgefiles, hit) == [("CACHE", "get")]
    assert reads[-1].json() == hit.json()


@pytest.mark.parametrize("content_type", ["text/plain", "image/png"], ids=["text", "image"])
def test_no_kv_key_is_written_twice_from_upload_to_delete(
    edgefiles: Runtime, users: UserFactory, content_type: str
) -> None:
    """KV takes one write per key per second: the whole life of a file writes its metadata key
    once (the first read once it is finished) and its image-analysis key at most once."""
    user = users.new()
    since = now_ms()
    body = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes * 8 if content_type == "image/png" else b"some words"
    uploaded = upload(user, "k.png" if content_type == "image/png" else "k.txt", body, content_type)
    reads = read_until_finished(user, uploaded.json()["links"]["self"])
    reads += [user.client.get(uploaded.json()["links"]["self"]) for _ in range(3)]
    deleted = user.client.delete(uploaded.json()["links"]["self"])
    writes = [
        call
        for response in [uploaded, *reads, deleted]
        for call in calls(edgefiles, response)
        if call[0] == "CACHE" and call[1] in ("put", "delete")
    ] + [c for c in queue_calls(edgefiles, since) if c[0] == "CACHE" and c[1] in ("put", "delete")]
    expected_puts = 2 if content_type.startswith("image/") else 1  # metadata, and the image's analysis
    assert writes.count(("CACHE", "put")) == expected_puts


def test_include_content_inlines_small_text(users: UserFactory) -> None:
    user = users.new()
    text = upload(user, "t.md", b"# Title\nbody", "text/markdown").json()
    assert user.client.get(text["links"]["self"], params={"include": "content"}).json()["content"] == "# Title\nbody"
    binary = upload(user, "b.bin", b"\x00\x01", "application/octet-stream").json()
    assert user.client.get(binary["links"]["self"], params={"include": "content"}).status_code == 400


def test_content_headers(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "data.bin", BODY, "application/octet-stream").json()
    response = user.client.get(file["links"]["content"])
    assert response.status_code == 200
    assert response.content == BODY
    headers = response.headers
    assert headers["content-length"] == str(len(BODY))
    assert headers["content-type"] == "application/octet-stream"
    assert headers["accept-ranges"] == "bytes"
    assert headers["etag"].startswith('"')
    assert headers["last-modified"].endswith("GMT")
    assert headers["content-disposition"].startswith('attachment; filename="data.bin"')


@pytest.mark.parametrize(
    ("range_header", "expected", "content_range"),
    [
        ("bytes=0-99", BODY[:100], "bytes 0-99/10240"),
        ("bytes=10000-", BODY[10000:], "bytes 10000-10239/10240"),
        ("bytes=-40", BODY[-40:], "bytes 10200-10239/10240"),
        ("bytes=10200-99999", BODY[10200:], "bytes 10200-10239/10240"),
    ],
    ids=["first-100", "open-ended", "suffix", "clamped"],
)
def test_range_requests(users: UserFactory, range_header: str, expected: bytes, content_range: str) -> None:
    user = users.new()
    file = upload(user, "r.bin", BODY, "application/octet-stream").json()
    response = user.client.get(file["links"]["content"], headers={"range": range_header})
    assert response.status_code == 206
    assert response.content == expected
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(expected))


def test_unsatisfiable_range_is_416(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "r.bin", BODY, "application/octet-stream").json()
    response = user.client.get(file["links"]["content"], headers={"range": "bytes=20000-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */10240"


def test_if_none_match_gives_304_and_head_gives_headers_only(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "e.txt", b"etag me").json()
    etag = user.client.get(file["links"]["content"]).headers["etag"]
    cached = user.client.get(file["links"]["content"], headers={"if-none-match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    stale = user.client.get(file["links"]["content"], headers={"if-none-match": '"other"'})
    assert stale.status_code == 200
    head = user.client.head(file["links"]["content"])
    assert head.status_code == 200
    assert head.headers["content-length"] == "7"
    assert head.headers["etag"] == etag
    assert head.content == b""


def test_listing_is_newest_first_with_an_opaque_cursor(users: UserFactory) -> None:
    user = users.new()
    ids = [upload(user, f"{i}.txt", b"x").json()["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = user.client.get("/api/files", params=params).json()
        assert len(page["items"]) <= 2
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1000"}, {"limit": "x"}, {"cursor": "garbage!"}])
def test_bad_listing_parameters_are_400(users: UserFactory, params: dict) -> None:
    assert users.new().client.get("/api/files", params=params).status_code == 400


def test_delete_moves_to_the_trash_and_deleting_from_it_removes_everything_once(
    edgefiles: Runtime, users: UserFactory
) -> None:
    user = users.new()
    file = upload(user, "gone.txt", b"bye").json()
    assert user.client.get("/api/stats").json()["upload_count"] == 1
    trashed = user.client.delete(file["links"]["self"])
    assert trashed.status_code == 204
    # One D1 write moves it to the trash; then its cache entry goes and the owner hears of it.
    assert calls(edgefiles, trashed)[0] == ("DB", "first")
    assert sorted(calls(edgefiles, trashed)[1:]) == [("CACHE", "delete"), ("USER_STATS", "file_trashed")]
    assert user.client.get(file["links"]["self"]).status_code == 404
    assert user.client.get(file["links"]["content"]).status_code == 404
    assert user.client.get("/api/stats").json()["upload_count"] == 1  # still stored
    deleted = user.client.delete(f"/api/trash/{file['id']}")
    assert deleted.status_code == 204
    # the row is marked deleted and its text purged (one D1 batch), then the rest in parallel
    assert calls(edgefiles, deleted)[0] == ("DB", "batch")
    assert sorted(calls(edgefiles, deleted)[1:]) == [("STORAGE", "delete"), ("USER_STATS", "record_delete")]
    again = user.client.delete(f"/api/trash/{file['id']}")
    assert again.status_code == 404
    assert ("STORAGE", "delete") not in calls(edgefiles, again)
    assert user.client.delete(file["links"]["self"]).status_code == 404
    assert user.client.get("/api/stats").json()["upload_count"] == 0


def test_signed_link_downloads_without_a_key(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "shared.bin", BODY, "application/octet-stream").json()
    link = user.client.post(f"/api/files/{file['id']}/links", json={"expires_in": 300})
    assert link.status_code == 201
    url = link.json()["url"]
    assert url.startswith("/d/")
    anonymous = users.anonymous()
    assert anonymous.get(url).content == BODY
    ranged = anonymous.get(url, headers={"range": "bytes=0-9"})
    assert (ranged.status_code, ranged.content) == (206, BODY[:10])


def test_signed_link_refuses_altered_expired_and_deleted(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "s.txt", b"secret").json()
    url = user.client.post(f"/api/files/{file['id']}/links", json={}).json()["url"]
    anonymous = users.anonymous()
    altered = url[:-2] + ("AA" if not url.endswith("AA") else "BB")
    assert anonymous.get(altered).status_code == 403
    expired = sign(file["id"], int(time.time()) - 1, SIGNING_KEY.encode())
    assert anonymous.get(f"/d/{expired}").status_code == 403
    assert user.client.delete(file["links"]["self"]).status_code == 204
    assert anonymous.get(url).status_code == 404


@pytest.mark.parametrize("body", [{"expires_in": 10}, {"expires_in": 10**9}, {"expires_in": "60"}])
def test_link_lifetime_is_validated(users: UserFactory, body: dict) -> None:
    user = users.new()
    file = upload(user, "l.txt", b"x").json()
    assert user.client.post(f"/api/files/{file['id']}/links", json=body).status_code == 400


def test_a_delete_forgets_the_cache_entry_again_a_second_later(edgefiles: Runtime, users: UserFactory) -> None:
    """A read that found the row live just before the delete could fill the cache just after it;
    the delete deletes the key again once KV allows a second write to it (waitUntil)."""
    user = users.new()
    url = upload(user, "d.txt", b"to be deleted").json()["links"]["self"]
    read_until_finished(user, url)
    deleted = user.client.delete(url)
    assert deleted.status_code == 204

    def cache_calls() -> list[dict] | None:
        found = [c for c in edgefiles.trace(deleted)["calls"] if c["binding"] == "CACHE"]
        return found if len(found) >= 2 else None

    deletes = wait_for(cache_calls, timeout=10, what="the second cache delete")
    assert [c["method"] for c in deletes] == ["delete", "delete"]
    assert deletes[1]["start"] - deletes[0]["start"] >= 1000
    assert user.client.get(url).status_code == 404


def test_a_failed_cache_fill_still_answers_and_the_next_read_fills_it(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    url = upload(user, "f.txt", b"filled later").json()["links"]["self"]
    with edgefiles.fault("CACHE.put"):
        reads = read_until_finished(user, url)
    assert reads[-1].status_code == 200
    assert [c for c in calls(edgefiles, reads[-1]) if c[0] == "CACHE"] == [("CACHE", "get"), ("CACHE", "put")]
    again = user.client.get(url)
    assert calls(edgefiles, again) == [("CACHE", "get"), ("DB", "first"), ("CACHE", "put")]

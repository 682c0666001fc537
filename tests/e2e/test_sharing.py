"""Share links as records (password, download limit, revocation, listing) and file requests
(upload-only links), used as their recipients would: without a key."""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest

from api_client import User, UserFactory, settled, upload
from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 1200  # a JPEG's magic, ~300 KB


def audit_actions(user: User) -> list[str]:
    return [event["action"] for event in user.client.get("/api/audit").json()["items"]]


def make_link(user: User, file_id: str, **spec: object) -> dict:
    response = user.client.post(f"/api/files/{file_id}/links", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_password_link_refuses_a_wrong_password_and_serves_with_the_right_one(
    edgefiles: Runtime, users: UserFactory
) -> None:
    user, stranger = users.new(), users.anonymous()
    file = upload(user, "photo.jpg", PHOTO, "image/jpeg").json()
    link = make_link(user, file["id"], password="correct horse battery", label="for Ana")  # noqa: S106
    assert link["password_protected"] is True and link["label"] == "for Ana"
    assert "correct" not in link["url"]

    missing = stranger.get(link["url"])
    assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
    wrong = stranger.get(link["url"], headers={"x-link-password": "wrong horse battery"})
    assert wrong.status_code == 401 and PHOTO[:4] not in wrong.content
    right = stranger.get(link["url"], headers={"x-link-password": "correct horse battery"})
    assert right.status_code == 200 and right.content == PHOTO

    # A browser is shown a form, and the form's POST serves the file.
    form = stranger.get(link["url"], headers={"accept": "text/html"})
    assert form.status_code == 401 and '<form method="post">' in form.text
    assert "default-src 'none'" in form.headers["content-security-policy"]
    refused = stranger.post(link["url"], data={"password": "nope nope nope"})
    assert refused.status_code == 401 and "not right" in refused.text
    posted = stranger.post(link["url"], data={"password": "correct horse battery"})
    assert posted.status_code == 200 and posted.content == PHOTO


def test_a_link_with_a_download_limit_of_3_serves_exactly_3_of_20_concurrent_downloads(
    edgefiles: Runtime, users: UserFactory
) -> None:
    user = users.new()
    file = upload(user, "report.txt", b"quarterly numbers\n" * 1000).json()
    link = make_link(user, file["id"], max_downloads=3)

    def fetch(_: int) -> int:
        with httpx.Client(base_url=edgefiles.url, timeout=60) as client:
            return client.get(link["url"]).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(fetch, range(20)))
    assert sorted(statuses) == [200] * 3 + [410] * 17
    listed = {item["id"]: item for item in user.client.get("/api/links").json()["items"]}
    assert listed[link["id"]]["downloads"] == 3
    assert listed[link["id"]]["state"] == "exhausted"
    assert listed[link["id"]]["last_used_at"] is not None


def test_a_revoked_link_answers_410_at_once_and_leaves_the_list(edgefiles: Runtime, users: UserFactory) -> None:
    user, stranger = users.new(), users.anonymous()
    file = upload(user, "a.txt", b"shared once").json()
    link = make_link(user, file["id"])
    assert stranger.get(link["url"]).content == b"shared once"
    assert user.client.delete(f"/api/links/{link['id']}").status_code == 204
    revoked = stranger.get(link["url"])
    assert revoked.status_code == 410 and revoked.json()["detail"] == "This link was revoked by its owner"
    assert link["id"] not in {item["id"] for item in user.client.get("/api/links").json()["items"]}
    assert user.client.delete(f"/api/links/{link['id']}").status_code == 404
    # Nobody else can revoke or see it.
    other = users.new()
    link2 = make_link(user, file["id"])
    assert other.client.delete(f"/api/links/{link2['id']}").status_code == 404
    assert other.client.get("/api/links").json()["items"] == []
    actions = wait_for(lambda: (a := audit_actions(user)) and "link.used" in a and a, what="link.used in the audit")
    assert actions.count("link.created") == 2 and actions.count("link.revoked") == 1


def test_a_trashed_file_is_not_served_by_its_links_until_restored(edgefiles: Runtime, users: UserFactory) -> None:
    user, stranger = users.new(), users.anonymous()
    file = upload(user, "t.txt", b"come back").json()
    link = make_link(user, file["id"])
    assert user.client.delete(f"/api/files/{file['id']}").status_code == 204
    assert stranger.get(link["url"]).status_code == 404
    assert user.client.post(f"/api/trash/{file['id']}/restore").status_code == 200
    assert stranger.get(link["url"]).content == b"come back"


def test_a_file_request_takes_allowed_uploads_for_its_owner_and_shows_the_sender_nothing_else(
    edgefiles: Runtime, users: UserFactory
) -> None:
    owner, sender = users.new(), users.anonymous()
    upload(owner, "private-plans.txt", b"not for senders")
    created = owner.client.post(
        "/api/file-requests",
        json={"label": "Receipts", "max_files": 2, "max_file_size": 400_000, "allowed_types": ["image/jpeg"]},
    )
    assert created.status_code == 201, created.text
    request = created.json()
    page = sender.get(request["url"], headers={"accept": "text/html"})
    assert page.status_code == 200 and "Receipts" in page.text and "private-plans" not in page.text
    described = sender.get(request["url"]).json()
    assert described["allowed_types"] == ["image/jpeg"] and "items" not in described

    sent = sender.put(f"{request['url']}/files/receipt.jpg", content=PHOTO, headers={"content-type": "image/jpeg"})
    assert sent.status_code == 201, sent.text
    assert set(sent.json()) == {"filename", "content_type", "size_bytes", "received_at"}
    wrong_type = sender.put(f"{request['url']}/files/notes.txt", content=b"hi", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415
    too_big = sender.put(f"{request['url']}/files/big.jpg", content=PHOTO * 2, headers={"content-type": "image/jpeg"})
    assert too_big.status_code == 413
    second = sender.put(f"{request['url']}/files/r2.jpg", content=PHOTO, headers={"content-type": "image/jpeg"})
    assert second.status_code == 201
    third = sender.put(f"{request['url']}/files/r3.jpg", content=PHOTO, headers={"content-type": "image/jpeg"})
    assert third.status_code == 403
    # The sender cannot reach the owner's files through the request's URL.
    assert sender.get(f"{request['url']}/files").status_code in (404, 405)
    assert sender.get("/api/files").status_code == 401

    received = owner.client.get("/api/files", params={"file_request_id": request["id"]}).json()["items"]
    assert sorted(f["filename"] for f in received) == ["r2.jpg", "receipt.jpg"]
    assert all(f["file_request_id"] == request["id"] for f in received)
    body = owner.client.get(f"/api/files/{received[0]['id']}/content").content
    assert body == PHOTO
    settled(owner, received[0]["id"])
    listed = owner.client.get("/api/file-requests").json()["items"]
    assert listed[0]["files_received"] == 2 and listed[0]["state"] == "exhausted"
    assert owner.client.delete(f"/api/file-requests/{request['id']}").status_code == 204
    closed = sender.put(f"{request['url']}/files/late.jpg", content=PHOTO, headers={"content-type": "image/jpeg"})
    assert closed.status_code == 410
    actions = wait_for(
        lambda: (a := audit_actions(owner)).count("file_request.used") == 2 and a, what="both uses in the audit"
    )
    assert actions.count("file_request.created") == 1 and actions.count("file_request.revoked") == 1


def test_a_password_file_request_needs_its_password(edgefiles: Runtime, users: UserFactory) -> None:
    owner, sender = users.new(), users.anonymous()
    request = owner.client.post("/api/file-requests", json={"password": "open sesame 42"}).json()
    url = f"{request['url']}/files/a.txt"
    assert sender.put(url, content=b"x", headers={"content-type": "text/plain"}).status_code == 401
    wrong = {"content-type": "text/plain", "x-request-password": "open sesame 43"}
    assert sender.put(url, content=b"x", headers=wrong).status_code == 401
    right = {"content-type": "text/plain", "x-request-password": "open sesame 42"}
    assert sender.put(url, content=b"x", headers=right).status_code == 201


def test_only_responses_that_serve_bytes_use_a_limited_links_downloads(edgefiles: Runtime, users: UserFactory) -> None:
    user, stranger = users.new(), users.anonymous()
    file = upload(user, "limited.txt", b"0123456789" * 100).json()
    link = make_link(user, file["id"], max_downloads=1)
    assert stranger.get(link["url"], headers={"range": "bytes=5000-6000"}).status_code == 416
    etag = stranger.head(link["url"]).headers["etag"]
    assert stranger.get(link["url"], headers={"if-none-match": etag}).status_code == 304
    assert stranger.get(link["url"], headers={"range": "bytes=0-9"}).content == b"0123456789"  # the one
    assert stranger.get(link["url"]).status_code == 410
    spent = stranger.head(link["url"])
    assert spent.status_code == 410 and "content-disposition" not in spent.headers
    # Nor does a spent link confirm the file's ETag or size.
    assert stranger.get(link["url"], headers={"if-none-match": etag}).status_code == 410
    assert stranger.get(link["url"], headers={"range": "bytes=99999-"}).status_code == 410


def test_links_of_a_trashed_or_deleted_file_say_so_in_the_list(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "s.txt", b"state").json()
    link = make_link(user, file["id"])

    def state() -> str:
        return user.client.get("/api/links", params={"file_id": file["id"]}).json()["items"][0]["state"]

    assert state() == "active"
    user.client.delete(f"/api/files/{file['id']}")
    assert state() == "file_trashed"
    user.client.delete(f"/api/trash/{file['id']}")
    assert state() == "file_deleted" and users.anonymous().get(link["url"]).status_code == 404


def test_right_passwords_are_never_limited_and_wrong_ones_are(edgefiles: Runtime, users: UserFactory) -> None:
    owner, sender = users.new(), users.anonymous()
    password = "пароль для квитанций"
    request = owner.client.post("/api/file-requests", json={"password": password}).json()
    encoded = {"content-type": "text/plain", "x-request-password": quote(password)}
    raw = {"content-type": "text/plain", "x-request-password": password.encode()}  # UTF-8 bytes, as curl sends
    for i in range(12):  # more than the wrong-password limit, all right
        sent = sender.put(f"{request['url']}/files/r{i}.txt", content=b"x", headers=encoded if i % 2 else raw)
        assert sent.status_code == 201, sent.text
    wrong = {"content-type": "text/plain", "x-request-password": "nope nope"}
    codes = [sender.put(f"{request['url']}/files/w.txt", content=b"x", headers=wrong).status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]
    locked = sender.put(f"{request['url']}/files/late.txt", content=b"x", headers=encoded)
    assert locked.status_code == 429 and locked.headers["retry-after"] == "60"
    assert owner.client.post("/api/file-requests", json={"password": " padded "}).status_code == 400


def test_a_burst_of_wrong_passwords_gets_no_more_guesses_than_the_limit(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "vault.txt", b"guarded").json()
    link = make_link(user, file["id"], password="the right passphrase")  # noqa: S106

    def guess(i: int) -> int:
        with httpx.Client(base_url=edgefiles.url, timeout=60) as client:
            return client.get(link["url"], headers={"x-link-password": f"wrong guess {i}"}).status_code

    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(guess, range(40)))
    assert codes.count(401) <= 10 and codes.count(401) + codes.count(429) == 40, codes

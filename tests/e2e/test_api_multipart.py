"""Client-driven multipart uploads: parts stream into R2's multipart API, resumable."""

import hashlib
import os

import pytest

from api_client import UserFactory

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024


def start(user, size: int, name: str = "big.bin") -> dict:
    response = user.client.post(
        "/api/uploads", json={"filename": name, "content_type": "application/octet-stream", "size": size}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_multipart_upload_round_trip_with_a_retried_part(users: UserFactory) -> None:
    user = users.new()
    data = os.urandom(8 * MiB + 12345)
    plan = start(user, len(data))
    assert (plan["part_size"], plan["part_count"]) == (8 * MiB, 2)
    base = f"/api/uploads/{plan['upload_id']}"
    last = user.client.put(f"{base}/parts/2", content=data[8 * MiB :])
    assert last.json()["part"] == 2
    assert user.client.get(base).json()["parts_missing"] == [1]
    for _ in range(2):  # the client retries part 1; the second copy replaces the first
        assert user.client.put(f"{base}/parts/1", content=data[: 8 * MiB]).status_code == 200
    done = user.client.post(f"{base}/complete")
    assert done.status_code == 201, done.text
    file = done.json()
    assert file["size_bytes"] == len(data)
    downloaded = user.client.get(file["links"]["content"]).content
    assert hashlib.sha256(downloaded).digest() == hashlib.sha256(data).digest()
    assert user.client.get(base).status_code == 404
    assert user.client.get("/api/stats").json()["total_bytes"] == len(data)


def test_parts_must_have_the_planned_size(users: UserFactory) -> None:
    user = users.new()
    plan = start(user, 9 * MiB)
    base = f"/api/uploads/{plan['upload_id']}"
    assert user.client.put(f"{base}/parts/1", content=b"short").status_code == 400
    assert user.client.put(f"{base}/parts/3", content=b"x").status_code == 400
    missing = user.client.post(f"{base}/complete")
    assert missing.status_code == 409
    assert missing.json()["parts_missing"] == [1, 2]


def test_abort_ends_the_upload(users: UserFactory) -> None:
    user = users.new()
    plan = start(user, 6 * MiB)
    base = f"/api/uploads/{plan['upload_id']}"
    assert user.client.delete(base).status_code == 204
    assert user.client.put(f"{base}/parts/1", content=b"x" * MiB).status_code == 404
    assert user.client.get("/api/files").json()["items"] == []


def test_another_user_cannot_touch_an_upload(users: UserFactory) -> None:
    alice, bob = users.new("alice"), users.new("bob")
    plan = start(alice, 6 * MiB)
    base = f"/api/uploads/{plan['upload_id']}"
    assert bob.client.get(base).status_code == 404
    assert bob.client.put(f"{base}/parts/1", content=b"x").status_code == 404
    assert bob.client.post(f"{base}/complete").status_code == 404
    assert bob.client.delete(base).status_code == 404
    assert alice.client.get(base).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"filename": "x", "content_type": "application/octet-stream"},
        {"filename": "x", "content_type": "application/octet-stream", "size": -1},
        {"filename": "x", "content_type": "application/octet-stream", "size": True},
        {"filename": "x", "content_type": "application/x-evil", "size": 10},
        {"filename": "", "content_type": "application/octet-stream", "size": 10},
    ],
    ids=["no-size", "negative", "bool-size", "bad-type", "no-name"],
)
def test_starting_an_upload_validates_its_body(users: UserFactory, body: dict) -> None:
    response = users.new().client.post("/api/uploads", json=body)
    assert response.status_code in (400, 415)
    assert response.headers["content-type"] == "application/problem+json"


def test_failed_part_write_is_503_and_can_be_retried(edgefiles, users: UserFactory) -> None:
    user = users.new()
    plan = start(user, 8 * MiB + 1)
    base = f"/api/uploads/{plan['upload_id']}"
    with edgefiles.fault("STORAGE.uploadPart"):
        failed = user.client.put(f"{base}/parts/2", content=b"z")
    assert failed.status_code == 503
    assert user.client.put(f"{base}/parts/2", content=b"z").status_code == 200

"""Identity and access: admin-minted API keys, bearer auth, per-user scoping."""

import re

import pytest

from api_client import UserFactory, upload
from runtime_harness import Runtime

pytestmark = pytest.mark.e2e


def test_admin_mints_a_key_shown_once(users: UserFactory) -> None:
    response = users.admin().post("/api/admin/keys", json={"user_id": "alice-mint"})
    assert response.status_code == 201
    body = response.json()
    assert body["user_id"] == "alice-mint"
    assert re.fullmatch(r"ef_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", body["key"])


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "Basic dGVzdA=="], ids=["missing", "wrong-token", "other-scheme"]
)
def test_admin_routes_refuse_anything_but_the_admin_token(users: UserFactory, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = users.anonymous().post("/api/admin/keys", json={"user_id": "mallory"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "body",
    [{}, {"user_id": ""}, {"user_id": "has space"}, {"user_id": 7}, ["alice"]],
    ids=["missing", "empty", "space", "not-a-string", "not-an-object"],
)
def test_minting_validates_the_user_id(users: UserFactory, body: object) -> None:
    response = users.admin().post("/api/admin/keys", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer ef_000000000000_" + "A" * 43, "Bearer not-a-key", "Token abc"],
    ids=["missing", "empty", "unknown-key", "malformed", "other-scheme"],
)
def test_api_routes_need_a_valid_key(users: UserFactory, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = users.anonymous().get("/api/files", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="edgefiles"'
    assert response.json()["status"] == 401


def test_a_revoked_key_stops_working(users: UserFactory) -> None:
    user = users.new()
    assert user.client.get("/api/files").status_code == 200
    assert users.admin().delete(f"/api/admin/keys/{user.prefix}").status_code == 204
    assert user.client.get("/api/files").status_code == 401
    assert users.admin().delete(f"/api/admin/keys/{user.prefix}").status_code == 404
    # Both events are in the user's audit trail, which the admin reads (the user no longer can).
    events = users.admin().get(f"/api/admin/users/{user.user_id}/audit").json()["items"]
    assert [(e["action"], e["actor"], e["target"]) for e in events] == [
        ("key.revoked", "admin", user.prefix),
        ("key.created", "admin", user.prefix),
    ]


def test_a_key_with_a_forged_secret_is_refused(users: UserFactory) -> None:
    user = users.new()
    forged = user.key[:-4] + ("AAAA" if not user.key.endswith("AAAA") else "BBBB")
    response = users.anonymous().get("/api/files", headers={"authorization": f"Bearer {forged}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("GET", "/content"), ("HEAD", "/content"), ("DELETE", ""), ("POST", "/links")],
    ids=["metadata", "content", "head", "delete", "link"],
)
def test_another_users_file_is_indistinguishable_from_a_missing_one(
    edgefiles: Runtime, users: UserFactory, method: str, suffix: str
) -> None:
    alice, bob = users.new("alice"), users.new("bob")
    file = upload(alice, "private.txt", b"alice only").json()
    # Alice's read fills the cache: a cache keyed by file id alone would now serve Bob.
    assert alice.client.get(f"/api/files/{file['id']}").status_code == 200
    theirs = bob.client.request(method, f"/api/files/{file['id']}{suffix}", json={} if method == "POST" else None)
    missing = bob.client.request(method, f"/api/files/{'0' * 36}{suffix}", json={} if method == "POST" else None)
    assert theirs.status_code == missing.status_code == 404
    if method != "HEAD":
        assert {**theirs.json(), "instance": None} == {**missing.json(), "instance": None}
    assert alice.client.get(f"/api/files/{file['id']}/content").content == b"alice only"


def test_listing_and_stats_are_per_user(users: UserFactory) -> None:
    alice, bob = users.new("alice"), users.new("bob")
    upload(alice, "a.txt", b"aaa")
    assert [f["filename"] for f in alice.client.get("/api/files").json()["items"]] == ["a.txt"]
    assert bob.client.get("/api/files").json()["items"] == []
    assert bob.client.get("/api/stats").json()["upload_count"] == 0

"""Access, route by route: without a key every user route is 401; with another user's key a
resource that exists answers exactly like one that does not."""

from collections.abc import Iterator

import pytest

from api_client import UserFactory, upload
from edgefiles.api.routes import ROUTES
from edgefiles.api.routing import USER
from runtime_harness import Runtime

pytestmark = pytest.mark.e2e

OWNED = ("file_id", "upload_id", "link_id", "request_id", "folder_id")
USER_ROUTES = [(method, pattern) for method, pattern, _, access in ROUTES if access == USER]
MISSING = "00000000-0000-4000-8000-000000000000"
MISSING_RECORD = "A" * 22  # the shape of a share link or file request id
MISSING_IDS = {
    "file_id": MISSING,
    "upload_id": MISSING,
    "link_id": MISSING_RECORD,
    "request_id": MISSING_RECORD,
    "folder_id": MISSING,
}


@pytest.fixture(scope="module")
def owner_resources(edgefiles: Runtime) -> Iterator[dict[str, str]]:
    """A file, a multipart upload, a share link, a file request and a folder owned by someone,
    to be probed by others."""
    users = UserFactory(edgefiles)
    owner = users.new("owner")
    file = upload(owner, "owned.txt", b"owned").json()
    plan = owner.client.post(
        "/api/uploads", json={"filename": "u.bin", "content_type": "application/octet-stream", "size": 10}
    ).json()
    link = owner.client.post(f"/api/files/{file['id']}/links", json={}).json()
    request = owner.client.post("/api/file-requests", json={}).json()
    folder = owner.client.post("/api/folders", json={"name": "owned"}).json()
    tus = owner.client.post("/api/tus/", headers={"tus-resumable": "1.0.0", "upload-length": "10"})
    yield {
        "file_id": file["id"],
        "upload_id": plan["upload_id"],
        "link_id": link["id"],
        "request_id": request["id"],
        "folder_id": folder["id"],
        "tus_upload_id": tus.headers["location"].rsplit("/", 1)[1],
        "filename": "probe.txt",
        "part": "1",
    }
    users.close()


def _path(pattern: str, values: dict[str, str]) -> str:
    return pattern.format(**values)


@pytest.mark.parametrize(("method", "pattern"), USER_ROUTES, ids=[f"{m} {p}" for m, p in USER_ROUTES])
def test_no_key_is_401_on_every_user_route(
    users: UserFactory, owner_resources: dict, method: str, pattern: str
) -> None:
    response = users.anonymous().request(method, _path(pattern, owner_resources), content=b"{}")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


SCOPED = [(m, p) for m, p in USER_ROUTES if any(f"{{{name}}}" in p for name in OWNED)]


@pytest.mark.parametrize(("method", "pattern"), SCOPED, ids=[f"{m} {p}" for m, p in SCOPED])
def test_another_users_resource_looks_missing(
    users: UserFactory, owner_resources: dict, method: str, pattern: str
) -> None:
    stranger = users.new("stranger")
    body = b"x" if method == "PUT" else b"{}"
    # tus requests name their protocol (or are 412 whatever they address).
    headers, resources = {}, owner_resources
    if "/tus/" in pattern:
        headers = {"tus-resumable": "1.0.0", "x-http-method-override": "DELETE"}
        resources = {**owner_resources, "upload_id": owner_resources["tus_upload_id"]}
    theirs = stranger.client.request(method, _path(pattern, resources), content=body, headers=headers)
    missing = stranger.client.request(
        method,
        _path(pattern, {**owner_resources, **MISSING_IDS}),
        content=body,
        headers=headers,
    )
    assert theirs.status_code == missing.status_code == 404
    if method != "HEAD":
        assert theirs.json()["detail"] == missing.json()["detail"]

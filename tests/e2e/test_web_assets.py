"""The web app's static assets next to the API, as the edge routes them: files in public/ are
answered without running Python, /api/* and /d/* always reach the Worker, and anything that is
not a file (or not a GET) still gets the Worker's problem details."""

import json
import time
from pathlib import Path

import pytest

from api_client import MAX_FILE_SIZE, UserFactory
from runtime_harness import ROOT, Runtime

pytestmark = pytest.mark.e2e

PUBLIC = ROOT / "public"


def test_index_and_modules_are_served_with_types_and_etags(edgefiles: Runtime) -> None:
    index = edgefiles.client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert index.content == (PUBLIC / "index.html").read_bytes()
    assert edgefiles.client.get("/", headers={"if-none-match": index.headers["etag"]}).status_code == 304
    module = edgefiles.client.get("/js/main.js")
    assert module.headers["content-type"].startswith("text/javascript")
    assert edgefiles.client.get("/index.html").headers["location"] == "/"


def test_assets_do_not_run_the_worker(edgefiles: Runtime) -> None:
    since_ms = int(time.time() * 1000) - 1
    response = edgefiles.client.get("/css/app.css")
    assert response.status_code == 200
    assert "x-pyworker-trace-id" not in response.headers
    edgefiles.client.get("/health")  # a Worker request in the same window: the listing does record them
    labels = [
        t["label"]
        for t in edgefiles.client.get("/__runtime/traces", params={"kind": "fetch", "since": since_ms}).json()
    ]
    assert "GET /health" in labels
    assert "GET /css/app.css" not in labels


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/files", 401),
        ("GET", "/d/not-a-token", 403),
        ("GET", "/no-such-page", 404),
        ("POST", "/no-such-page", 404),
    ],
)
def test_everything_else_reaches_the_worker(edgefiles: Runtime, method: str, path: str, status: int) -> None:
    response = edgefiles.client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert "x-pyworker-trace-id" in response.headers


@pytest.mark.parametrize(("method", "path"), [("POST", "/"), ("DELETE", "/js/main.js"), ("PUT", "/css/app.css")])
def test_other_methods_on_an_assets_path_are_405_as_at_the_edge(edgefiles: Runtime, method: str, path: str) -> None:
    response = edgefiles.client.request(method, path, content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert "x-pyworker-trace-id" not in response.headers


def test_every_file_in_public_is_reachable(edgefiles: Runtime) -> None:
    files = [p for p in PUBLIC.rglob("*") if p.is_file() and p.name != "_headers"]
    assert len(files) > 5
    for file in files:
        path = "/" + file.relative_to(PUBLIC).as_posix()
        if path.endswith("index.html"):
            path = path.removesuffix("index.html")
        response = edgefiles.client.get(path)
        assert response.status_code == 200, path
        assert response.content == Path(file).read_bytes(), path


def test_limits_tell_the_client_what_this_deployment_accepts(users: UserFactory) -> None:
    limits = users.new().client.get("/api/limits").json()
    assert limits["max_file_size"] == MAX_FILE_SIZE
    assert "text/plain" in limits["allowed_content_types"]
    assert limits["link_lifetime_seconds"] == {"min": 60, "max": 90 * 24 * 3600}
    assert limits["trash_retention_days"] == 30
    # 10,000 parts of at most 95 MiB: every part is one request within the edge's 100 MB.
    assert limits["max_multipart_file_size"] == 10_000 * 95 * 2**20


def test_a_multipart_upload_whose_parts_would_pass_the_request_limit_is_refused(users: UserFactory) -> None:
    user = users.new()
    # A quota large enough that only the part limit refuses (the default, 10 GB, would first).
    users.admin().put(f"/api/admin/users/{user.user_id}/quota", json={"max_bytes": 10**15}).raise_for_status()
    too_big = {"filename": "huge.bin", "content_type": "application/octet-stream", "size": 10**12}
    assert user.client.post("/api/uploads", json=too_big).status_code == 413
    largest = user.client.post("/api/uploads", json={**too_big, "size": 10_000 * 95 * 2**20})
    assert largest.status_code == 201
    assert largest.json()["part_size"] <= 100_000_000
    user.client.delete(f"/api/uploads/{largest.json()['upload_id']}")


def test_headers_file_protects_the_app_but_not_the_api(edgefiles: Runtime) -> None:
    page = edgefiles.client.get("/")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert edgefiles.client.get("/_headers").status_code == 404
    assert "x-frame-options" not in edgefiles.client.get("/health").headers


def test_the_vendored_uppy_is_the_pinned_npm_package() -> None:
    """public/vendor/uppy is npm `uppy` (package-lock.json's version), copied as it is, with its
    licence: `make vendor` copies it again after an upgrade."""
    vendored = ROOT / "public" / "vendor" / "uppy"
    package = ROOT / "node_modules" / "uppy"
    assert (vendored / "uppy.min.mjs").read_bytes() == (package / "dist" / "uppy.min.mjs").read_bytes()
    assert (vendored / "LICENSE").read_bytes() == (package / "LICENSE").read_bytes()
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert (
        lock["packages"]["node_modules/uppy"]["version"]
        == json.loads((package / "package.json").read_text())["version"]
    )

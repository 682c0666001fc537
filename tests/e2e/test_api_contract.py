"""The API's contract: problem details, request ids, one log line per request, OpenAPI."""

import json
import re
from pathlib import Path

import pytest

from api_client import UserFactory
from edgefiles.api.openapi import OPENAPI
from edgefiles.api.routes import ROUTES
from runtime_harness import ROOT, Runtime

pytestmark = pytest.mark.e2e


def _template(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def test_openapi_describes_exactly_the_routes_served(users: UserFactory) -> None:
    served = {(_template(pattern), method.lower()) for method, pattern, _, _ in ROUTES}
    documented = {(_template(path), method) for path, item in OPENAPI["paths"].items() for method in item}
    assert served == documented
    assert users.anonymous().get("/openapi.json").json() == OPENAPI


def test_the_committed_openapi_json_is_current() -> None:
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert committed == OPENAPI, "run `make openapi` and commit openapi.json"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nope", 404), ("GET", "/api/nothing/here", 404), ("PATCH", "/api/files", 405), ("GET", "/d/x.y", 403)],
    ids=["unknown-route", "unknown-api-route", "wrong-method", "bad-token"],
)
def test_errors_are_problem_details(users: UserFactory, method: str, path: str, status: int) -> None:
    response = users.new().client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status
    assert body["instance"] == path
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD, POST"


def test_internal_errors_reveal_nothing(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with edgefiles.fault("DB.all"):
        response = user.client.get("/api/files")
    assert response.status_code == 500
    assert response.json()["detail"] == "The server could not complete the request."
    for leak in ("injected", "Traceback", "SELECT", "DB."):
        assert leak not in response.text


def test_every_response_has_a_request_id_and_one_log_line(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    ok = user.client.get("/api/files")
    refused = users.anonymous().get("/api/files")
    given = user.client.get("/api/stats", headers={"x-request-id": "client-chosen-id-123"})
    ids = [r.headers["x-request-id"] for r in (ok, refused, given)]
    assert ids[2] == "client-chosen-id-123"
    assert len(set(ids)) == 3
    lines = [json.loads(line) for line in edgefiles.log_text().splitlines() if line.startswith('{"event": "request"')]
    by_id = {line["request_id"]: line for line in lines}
    assert by_id[ids[0]] | {"ms": 0} == {
        "event": "request",
        "method": "GET",
        "route": "/api/files",
        "path": "/api/files",
        "status": 200,
        "ms": 0,
        "user": user.user_id,
        "request_id": ids[0],
    }
    assert by_id[ids[1]]["status"] == 401
    assert by_id[ids[1]]["user"] is None
    assert [line["request_id"] for line in lines].count(ids[0]) == 1


def test_health_is_public(users: UserFactory) -> None:
    assert users.anonymous().get("/health").json()["status"] == "ok"


def test_openapi_file_exists_in_the_repository() -> None:
    assert Path(ROOT / "openapi.json").is_file()

import pytest

from edgefiles.api.routing import PUBLIC, USER, Router
from edgefiles.domain.problems import Problem, internal_error, unauthorized


async def handler() -> None:
    return None


def make_router() -> Router:
    router = Router()
    router.add("GET", "/api/files/{file_id}", handler)
    router.add("PUT", "/api/files/{filename}", handler)
    router.add("GET", "/health", handler, PUBLIC)
    return router


def test_router_extracts_parameters_and_access() -> None:
    route, params = make_router().resolve("GET", "/api/files/abc")
    assert route.handler is handler
    assert route.access == USER
    assert params == {"file_id": "abc"}
    assert make_router().resolve("GET", "/health")[0].access == PUBLIC


def test_router_head_falls_back_to_get() -> None:
    assert make_router().resolve("HEAD", "/api/files/abc")[1] == {"file_id": "abc"}


def test_router_405_carries_allow() -> None:
    with pytest.raises(Problem) as caught:
        make_router().resolve("DELETE", "/api/files/abc")
    assert caught.value.status == 405
    assert caught.value.headers == {"allow": "GET, HEAD, PUT"}


def test_router_404_for_unknown_paths() -> None:
    with pytest.raises(Problem) as caught:
        make_router().resolve("GET", "/api/files/abc/extra/deep")
    assert caught.value.status == 404


def test_problem_details_shape() -> None:
    body = Problem(404, "no such file").to_dict("/api/files/x")
    assert body == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no such file",
        "instance": "/api/files/x",
    }


def test_internal_error_reveals_nothing() -> None:
    assert internal_error().to_dict()["detail"] == "The server could not complete the request."


def test_unauthorized_challenges_for_a_bearer_token() -> None:
    assert unauthorized().headers["www-authenticate"].startswith("Bearer")

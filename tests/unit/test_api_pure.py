import pytest

from edgefiles.api.routing import Router
from edgefiles.domain.problems import Problem, internal_error


async def handler() -> None:
    return None


def make_router() -> Router:
    router = Router()
    router.add("GET", "/api/files/{file_id}", handler)
    router.add("PUT", "/api/files/{filename}", handler)
    return router


def test_router_extracts_parameters() -> None:
    found, params = make_router().resolve("GET", "/api/files/abc")
    assert found is handler
    assert params == {"file_id": "abc"}


def test_router_head_falls_back_to_get() -> None:
    assert make_router().resolve("HEAD", "/api/files/abc")[1] == {"file_id": "abc"}


def test_router_405_lists_allowed_methods() -> None:
    with pytest.raises(Problem) as caught:
        make_router().resolve("DELETE", "/api/files/abc")
    assert caught.value.status == 405
    assert caught.value.to_dict()["allow"] == ["GET", "PUT"]


def test_router_404_for_unknown_paths() -> None:
    with pytest.raises(Problem) as caught:
        make_router().resolve("GET", "/api/files/abc/extra/deep")
    assert caught.value.status == 404


def test_problem_details_shape() -> None:
    body = Problem(404, "no such file").to_dict()
    assert body == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no such file"}


def test_internal_error_reveals_nothing() -> None:
    assert internal_error().to_dict()["detail"] == "The server could not complete the request."

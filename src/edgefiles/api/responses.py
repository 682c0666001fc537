"""Building responses: JSON bodies and RFC 9457 problem details."""

import json
from typing import Any

from workers import Response

from edgefiles.domain.problems import PROBLEM_CONTENT_TYPE, Problem


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(value), status=status, headers={"content-type": "application/json", **(headers or {})})


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(None, status=status, headers=headers or {})


def problem_response(problem: Problem, instance: str) -> Response:
    return Response(
        json.dumps(problem.to_dict(instance)),
        status=problem.status,
        headers={"content-type": PROBLEM_CONTENT_TYPE, **problem.headers},
    )

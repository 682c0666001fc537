"""Building responses: JSON bodies and RFC 9457 problem details."""

import json
from typing import Any

from workers import Response

from edgefiles.domain.problems import PROBLEM_CONTENT_TYPE, Problem


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(value),
        status=status,
        headers={"content-type": "application/json", **(headers or {})},
    )


def problem_response(problem: Problem) -> Response:
    return Response(
        json.dumps(problem.to_dict()),
        status=problem.status,
        headers={"content-type": PROBLEM_CONTENT_TYPE},
    )

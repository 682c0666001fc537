"""The HTTP application: routes a request, renders every error as problem details."""

import logging
from typing import Any
from urllib.parse import urlparse

from workers import Response

from edgefiles.api import files
from edgefiles.api.responses import json_response, problem_response
from edgefiles.api.routing import Router
from edgefiles.domain.problems import Problem, internal_error

logger = logging.getLogger(__name__)


def _build_router() -> Router:
    router = Router()
    router.add("GET", "/health", lambda request, env, **_: _health(env))
    router.add(
        "PUT",
        "/api/files/{filename}",
        lambda request, env, filename: files.upload_raw(files.FileService(env), request, filename),
    )
    router.add(
        "GET", "/api/files/{file_id}", lambda request, env, file_id: files.get_metadata(files.FileService(env), file_id)
    )
    router.add(
        "GET",
        "/api/files/{file_id}/content",
        lambda request, env, file_id: files.get_content(files.FileService(env), file_id),
    )
    router.add("GET", "/api/stats", lambda request, env: files.get_stats(files.FileService(env)))
    return router


async def _health(env: Any) -> Response:
    return json_response({"status": "ok", "environment": env.ENVIRONMENT})


ROUTER = _build_router()


async def handle_request(request: Any, env: Any) -> Response:
    path = urlparse(request.url).path
    try:
        handler, params = ROUTER.resolve(request.method, path)
        return await handler(request, env, **params)
    except Problem as problem:
        return problem_response(problem)
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, path)
        return problem_response(internal_error())

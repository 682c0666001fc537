"""The HTTP application: routes a request, authenticates it, renders every error as problem
details, tags every response with X-Request-Id and logs one JSON line per request."""

import json
import logging
import re
import time
import uuid
from typing import Any

from workers import Response

from edgefiles.api import (
    admin,
    audit,
    events,
    file_requests,
    files,
    folders,
    limits,
    links,
    search,
    stats,
    trash,
    tus,
    uploads,
    webdav,
)
from edgefiles.api.auth import authenticate_admin, authenticate_user
from edgefiles.api.context import RequestContext
from edgefiles.api.openapi import OPENAPI
from edgefiles.api.responses import json_response, problem_response
from edgefiles.api.routes import ROUTES
from edgefiles.api.routing import ADMIN, PUBLIC, Router
from edgefiles.domain.identifiers import check_path_parameters
from edgefiles.domain.problems import Problem, internal_error
from edgefiles.domain.tus import VERSION as TUS_VERSION
from edgefiles.services.container import Services
from edgefiles.services.database import SchemaOutOfDate

logger = logging.getLogger(__name__)

TUS_PATH = "/api/tus/"
DAV_PATH = "/dav"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}\Z")


async def health(ctx: RequestContext) -> Response:
    return json_response({"status": "ok", "environment": ctx.env.ENVIRONMENT})


async def openapi(ctx: RequestContext) -> Response:
    return json_response(OPENAPI)


def build_router() -> Router:
    modules = {
        "admin": admin,
        "audit": audit,
        "events": events,
        "file_requests": file_requests,
        "files": files,
        "folders": folders,
        "limits": limits,
        "links": links,
        "search": search,
        "stats": stats,
        "trash": trash,
        "tus": tus,
        "uploads": uploads,
    }
    router = Router()
    for method, pattern, target, access in ROUTES:
        module, name = target.split(".")
        handler = globals()[name] if module == "app" else getattr(modules[module], name)
        router.add(method, pattern, handler, access)
    return router


ROUTER = build_router()


def _request_id(ctx_header: str | None) -> str:
    return ctx_header if ctx_header and _REQUEST_ID.match(ctx_header) else uuid.uuid4().hex


async def _dispatch(ctx: RequestContext) -> Response:
    if ctx.path == DAV_PATH or ctx.path.startswith(DAV_PATH + "/"):
        # WebDAV's methods and paths are not the API's: its own dispatcher (api/webdav.py).
        ctx.route = DAV_PATH + "/*"
        try:
            await ctx.services.database.ensure_schema()
        except SchemaOutOfDate:
            raise Problem(503, "The service is being upgraded; try again shortly") from None
        return await webdav.handle(ctx)
    route, params = ROUTER.resolve(ctx.method, ctx.path)
    if route.access != PUBLIC or route.pattern.startswith(("/d/", "/r/")):
        try:
            await ctx.services.database.ensure_schema()
        except SchemaOutOfDate:
            raise Problem(503, "The service is being upgraded; try again shortly") from None
    ctx.route = route.pattern
    if route.access == ADMIN:
        authenticate_admin(ctx)
    elif route.access != PUBLIC:
        await authenticate_user(ctx)
    check_path_parameters(params)
    return await route.handler(ctx, **params)


async def handle_request(request: Any, env: Any, execution: Any = None) -> Response:
    started = time.perf_counter()
    ctx = RequestContext(request, env, Services(env), _request_id(request.headers.get("x-request-id")))
    ctx.execution = execution
    try:
        response = await _dispatch(ctx)
    except Problem as problem:
        response = problem_response(problem, ctx.path)
    except Exception:
        logger.exception("unhandled error on %s %s (request %s)", ctx.method, ctx.path, ctx.request_id)
        response = problem_response(internal_error(), ctx.path)
    # Headers of a Response we built are mutable; set the id on the JS object directly.
    response.js_object.headers.set("x-request-id", ctx.request_id)
    # No response of the API is meant to be sniffed into another type.
    response.js_object.headers.set("x-content-type-options", "nosniff")
    if ctx.path.startswith(TUS_PATH):
        # tus: every response says which protocol version it speaks, errors included.
        response.js_object.headers.set("tus-resumable", TUS_VERSION)
    line = {
        "event": "request",
        "method": ctx.method,
        "route": ctx.route,
        "path": ctx.path,
        "status": response.status,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "user": ctx.user_id,
        "request_id": ctx.request_id,
    }
    print(json.dumps(line))
    return response

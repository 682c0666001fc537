"""What a handler receives: the request, its parsed URL and the services."""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlparse

from edgefiles.domain import validation
from edgefiles.domain.files import parse_content_length
from edgefiles.domain.problems import Problem
from edgefiles.services.container import Services
from edgefiles.services.streams import BodyTooLarge, read_limited


@dataclass
class RequestContext:
    request: Any
    env: Any
    services: Services
    request_id: str
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    user_id: str | None = None
    route: str | None = None
    # The invocation's ExecutionContext: work it keeps alive after the response (waitUntil).
    execution: Any = None

    def __post_init__(self) -> None:
        url = urlparse(self.request.url)
        self.path = url.path
        self.query = dict(parse_qsl(url.query, keep_blank_values=True))

    def after_response(self, work: Coroutine[Any, Any, None]) -> None:
        """Runs `work` beyond the response, for as long as the platform keeps the invocation."""
        task = asyncio.ensure_future(work)
        if self.execution is not None:
            self.execution.waitUntil(task)

    @property
    def method(self) -> str:
        # The raw string: the SDK's `request.method` is an HTTPMethod and fails on other methods.
        return self.request.js_object.method

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    async def json_body(self, limit: int = validation.MAX_JSON_BODY) -> str:
        """The body as text, read no further than `limit` bytes (413 beyond, whatever the
        Content-Length says or omits)."""
        too_large = Problem(413, f"JSON bodies are limited to {limit} bytes")
        declared = self.header("content-length")
        if declared is not None:  # a chunked body has none; it is counted as it is read
            try:
                parse_content_length(declared, limit)
            except OverflowError:
                raise too_large from None
            except ValueError as error:
                raise Problem(400, str(error)) from None
        try:
            data = await read_limited(self.request.body, limit)
        except BodyTooLarge:
            raise too_large from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(400, "The body is not UTF-8 text") from None

"""What a handler receives: the request, its parsed URL and the services."""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlparse

from edgefiles.services.container import Services


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

    def __post_init__(self) -> None:
        url = urlparse(self.request.url)
        self.path = url.path
        self.query = dict(parse_qsl(url.query, keep_blank_values=True))

    @property
    def method(self) -> str:
        # The raw string: the SDK's `request.method` is an HTTPMethod and fails on other methods.
        return self.request.js_object.method

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    async def json_body(self) -> str:
        return await self.request.text()

"""A small router: method + path pattern -> handler, with named path parameters."""

import re
from collections.abc import Awaitable, Callable
from typing import Any

from edgefiles.domain.problems import Problem

Handler = Callable[..., Awaitable[Any]]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed = []
        for route_method, regex, handler in self._routes:
            match = regex.match(path)
            if match is None:
                continue
            if route_method == method or (method == "HEAD" and route_method == "GET"):
                return handler, match.groupdict()
            allowed.append(route_method)
        if allowed:
            raise Problem(405, f"{method} is not allowed here", extra={"allow": sorted(set(allowed))})
        raise Problem(404, f"No route for {path}")

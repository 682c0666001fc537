"""A small router: method + path pattern -> handler, with named path parameters."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from edgefiles.domain.problems import Problem

Handler = Callable[..., Awaitable[Any]]
PUBLIC, USER, ADMIN = "public", "user", "admin"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    access: str
    regex: re.Pattern[str]


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, access: str = USER) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + r"\Z")
        self.routes.append(Route(method, pattern, handler, access, regex))

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: set[str] = set()
        for route in self.routes:
            match = route.regex.match(path)
            if match is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, match.groupdict()
            allowed.add(route.method)
        if allowed:
            if "GET" in allowed:
                allowed.add("HEAD")
            allow = ", ".join(sorted(allowed))
            raise Problem(405, f"{method} is not allowed here", headers={"allow": allow})
        raise Problem(404, f"No route for {path}")

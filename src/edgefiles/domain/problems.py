"""RFC 9457 problem details: the body of every error response."""

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class Problem(Exception):
    """An error a client can act on. Raised by handlers, rendered once by the app."""

    status: int
    detail: str
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body = {
            "type": "about:blank",
            "title": self.title or HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }
        if instance is not None:
            body["instance"] = instance
        return body


def internal_error() -> Problem:
    """What a client sees for a failure of ours: nothing about its cause."""
    return Problem(500, "The server could not complete the request.")


def not_found() -> Problem:
    """The same answer for a missing file and another user's file: existence is not revealed."""
    return Problem(404, "No such file")


def unauthorized(detail: str = "A valid API key is required") -> Problem:
    return Problem(401, detail, headers={"www-authenticate": 'Bearer realm="edgefiles"'})


def unavailable(what: str) -> Problem:
    return Problem(503, f"{what} is temporarily unavailable; nothing was stored. Try again.")

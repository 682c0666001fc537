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

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "about:blank",
            "title": self.title or HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def internal_error() -> Problem:
    """What a client sees for a failure of ours: nothing about its cause."""
    return Problem(500, "The server could not complete the request.")


def unavailable(what: str) -> Problem:
    return Problem(503, f"{what} is temporarily unavailable; nothing was stored. Try again.")

"""WebDAV's If header (RFC 4918 §10.4): lists of conditions on state tokens and entity tags,
untagged (about the request's resource) or tagged with the resource they are about.

    If = 1*( [ "<" Resource-URI ">" ] 1*( "(" 1*( ["Not"] ( "<" State-token ">" | "[" ETag "]" ) ) ")" ) )

The header holds if any one list holds, and a list holds if all its conditions do. A state token
holds if it is the token of a live lock that applies to the resource (DAV:no-lock never is); an
entity tag if it is the resource's. Every state token the header names counts as submitted, for
the lock check that follows (RFC 4918 §7.5), whether its list held or not.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from edgefiles.domain import dav

_TOKEN = re.compile(r'\s*(?:(Not)\s*)?(?:<([^>]*)>|\[((?:W/)?"[^"]*")\])', re.IGNORECASE)


class IfSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Condition:
    negated: bool
    token: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class IfList:
    resource: list[str] | None  # the names of a tagged list's resource; None: the request's
    conditions: tuple[Condition, ...]


def parse(header: str) -> list[IfList]:
    lists: list[IfList] = []
    resource: list[str] | None = None
    rest = header.strip()
    if not rest:
        raise IfSyntaxError("the If header is empty")
    while rest:
        if rest.startswith("<"):
            end = rest.find(">")
            if end < 0:
                raise IfSyntaxError("a resource tag is not closed")
            try:
                resource = dav.destination(rest[1:end])
            except dav.DavError as error:
                raise IfSyntaxError(f"a resource tag is not one of ours ({error})") from None
            rest = rest[end + 1 :].lstrip()
            if not rest.startswith("("):
                raise IfSyntaxError("a resource tag must be followed by a list")
            continue
        if not rest.startswith("("):
            raise IfSyntaxError("expected a list in parentheses")
        end = rest.find(")")
        if end < 0:
            raise IfSyntaxError("a list is not closed")
        body, rest = rest[1:end], rest[end + 1 :].lstrip()
        conditions, position = [], 0
        while body[position:].strip():
            match = _TOKEN.match(body, position)
            if match is None:
                raise IfSyntaxError("a condition is neither <state-token> nor [etag]")
            negated, token, etag = bool(match.group(1)), match.group(2), match.group(3)
            conditions.append(Condition(negated, token, etag))
            position = match.end()
        if not conditions:
            raise IfSyntaxError("a list has no condition")
        lists.append(IfList(resource, tuple(conditions)))
    return lists


def submitted(lists: list[IfList]) -> set[str]:
    return {c.token for lst in lists for c in lst.conditions if c.token}


State = tuple[str | None, set[str]]  # (the resource's entity tag, the tokens of locks applying to it)


def holds(lists: list[IfList], request_names: list[str], state: Callable[[list[str]], State]) -> bool:
    """Whether the header holds; `state(names)` tells a resource's entity tag and lock tokens."""
    for if_list in lists:
        etag, tokens = state(if_list.resource if if_list.resource is not None else request_names)
        if all(_matches(condition, etag, tokens) != condition.negated for condition in if_list.conditions):
            return True
    return False


def _matches(condition: Condition, etag: str | None, tokens: set[str]) -> bool:
    if condition.token is not None:
        return condition.token in tokens
    return etag is not None and condition.etag == etag


def resources(lists: list[IfList], request_names: list[str]) -> list[list[str]]:
    """The resources the header is about (each once)."""
    seen: list[list[str]] = []
    for if_list in lists:
        names = if_list.resource if if_list.resource is not None else request_names
        if names not in seen:
            seen.append(names)
    return seen

"""Parsing JSON from clients without letting its shape hurt the interpreter.

`json.loads` recurses once per nesting level. On Pyodide the WebAssembly stack runs out long
before Python's recursion limit (about 5,000 levels), and that is not a RecursionError but a
fatal error that leaves the isolate unusable. So the nesting is measured first, in one linear
pass, and refused beyond a depth no request of this API needs. NaN, Infinity and numbers too
large for a float (which Python accepts as infinite), and strings with lone surrogates (which
cannot be stored), are refused too.
"""

import json
import math
import re
from typing import Any

MAX_JSON_DEPTH = 32
# Characters that open or close a level, a string, or an escape inside a string.
_STRUCTURE = re.compile(r'[\[\]{}"\\]')


class JsonRejected(ValueError):
    """Not JSON, or JSON this service does not accept (too deep, non-finite numbers)."""


def nesting_depth(text: str, stop_above: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of arrays and objects outside strings; stops counting (and answers
    `stop_above + 1`) as soon as that is passed."""
    depth = deepest = 0
    in_string = False
    skip_to = -1  # the character after a backslash inside a string is taken literally
    for match in _STRUCTURE.finditer(text):
        position, char = match.start(), match.group()
        if position < skip_to:
            continue
        if in_string:
            if char == "\\":
                skip_to = position + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > stop_above:
                return depth
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not a JSON number")


def _finite(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise JsonRejected(f"{literal[:20]} is too large for a number")
    return value


def parse_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The value of `text`, or JsonRejected."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRejected("not UTF-8") from None
    if nesting_depth(text, max_depth) > max_depth:
        raise JsonRejected(f"nested more than {max_depth} levels deep")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except JsonRejected:
        raise
    except json.JSONDecodeError as error:
        raise JsonRejected(f"{error.msg} at character {error.pos}") from None
    except ValueError:
        # The other ValueError json.loads raises: an integer longer than int() accepts.
        raise JsonRejected("a number has too many digits") from None
    try:
        # "\\ud800" is valid JSON but no Unicode text: it could not be stored or encoded.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonRejected("a string holds a lone surrogate, which is not Unicode text") from None
    return value

"""What the queue consumer decides about a failure: try again later, or give up now."""

import re

# Workers AI answers bad input with 4xx-class error codes (5006 invalid input, 5007 no such model,
# 5016 licence not agreed, 5028 model retired ...); those will fail the same way on every retry.
_PERMANENT_AI_CODES = re.compile(r"\b(3003|5006|5007|5016|5021|5028)\b")
# Vectorize refuses a vector of the wrong dimensions (40012: EMBEDDING_MODEL does not match the
# index) or an id that is too long (40008) on every attempt too.
_PERMANENT_VECTORIZE_CODES = re.compile(r"VECTOR_(INSERT|UPSERT)_ERROR \(code = (40008|40012)\)")
RETRY_CAP_SECONDS = 15 * 60


class PermanentError(Exception):
    """Input this service cannot process: record the file as failed, do not retry."""


def is_permanent(error: BaseException) -> bool:
    text = str(error)
    return (
        isinstance(error, PermanentError)
        or bool(_PERMANENT_AI_CODES.search(text))
        or bool(_PERMANENT_VECTORIZE_CODES.search(text))
    )


def retry_delay(attempts: int, base_seconds: int) -> int:
    """Exponential backoff: base, 2*base, 4*base ... capped at 15 minutes."""
    return min(base_seconds * 2 ** max(attempts - 1, 0), RETRY_CAP_SECONDS)


def describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    return text[:500]

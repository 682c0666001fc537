"""Which configured secrets the service will use. A secret copied from `.dev.vars.example`, or
short enough to guess, protects nothing: it is refused, and what it guards is switched off."""

from edgefiles.domain.problems import Problem

MIN_SECRET_BYTES = 32
# The values `.dev.vars.example` ships with (a unit test keeps the two in step).
EXAMPLE_SECRETS = frozenset({"change-me-admin-token", "change-me-signing-key-at-least-32-bytes"})
# How a refused secret is described to clients (never the value, nor which rule it broke).
_WEAK_SECRET = f"an example value, or shorter than {MIN_SECRET_BYTES} bytes"


def refusal(value: str) -> str | None:
    """Why `value` may not be used as a secret, or None when it may."""
    if value in EXAMPLE_SECRETS or value.strip().lower().startswith("change-me"):
        return "it is the example value from .dev.vars.example"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"it is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def disabled(feature: str, secret_name: str) -> Problem:
    """What a client gets from a feature whose secret is missing or refused."""
    return Problem(503, f"{feature} disabled: {secret_name} is not set, or too weak to use ({_WEAK_SECRET})")

import time

import pytest

from edgefiles.domain import api_keys
from edgefiles.domain.signing import ExpiredToken, InvalidToken, sign, verify

KEY = b"k" * 32


def test_minted_keys_parse_and_match_their_hash() -> None:
    prefix, key = api_keys.mint()
    assert api_keys.prefix_of(key) == prefix
    stored = api_keys.hash_key(key)
    assert stored != key
    assert len(stored) == 64
    assert api_keys.hash_key(key) == stored
    assert api_keys.hash_key(key + "x") != stored


def test_keys_are_unique() -> None:
    assert len({api_keys.mint()[1] for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "key", ["", "ef_", "ef_zzzzzzzzzzzz_" + "a" * 43, "xx_0123456789ab_" + "a" * 43, "ef_0123456789ab_short"]
)
def test_malformed_keys_have_no_prefix(key: str) -> None:
    assert api_keys.prefix_of(key) is None


@pytest.mark.parametrize(
    ("header", "token"),
    [(None, None), ("", None), ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None)],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert api_keys.bearer_token(header) == token


def test_same_secret() -> None:
    assert api_keys.same_secret("admin", "admin")
    assert not api_keys.same_secret("admin", "admin2")


def test_signed_token_round_trip() -> None:
    token = sign("file-1", int(time.time()) + 60, KEY)
    assert verify(token, KEY, int(time.time()), 3600) == "file-1"


def test_expired_token() -> None:
    token = sign("file-1", 1000, KEY)
    with pytest.raises(ExpiredToken):
        verify(token, KEY, 1000, 3600)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "x" + t,
        lambda t: t.replace(".", ""),
        lambda t: t + "==",
        lambda t: "",
        lambda t: sign("file-1", 9999999999, b"other-key"),
    ],
    ids=["signature-changed", "payload-changed", "no-dot", "padding", "empty", "other-key"],
)
def test_altered_tokens_are_invalid(mutate) -> None:
    token = sign("file-1", 9999999999, KEY)
    with pytest.raises(InvalidToken):
        verify(mutate(token), KEY, 9999999000, 3600)

"""Share links, file requests and their passwords: what creating one accepts, token subjects,
the stored password form (checked against CPython's PBKDF2, which WebCrypto must equal)."""

import hashlib

import pytest

from edgefiles.domain import passwords, sharing
from edgefiles.domain.problems import Problem
from edgefiles.domain.signing import claims, sign

ALLOWED = frozenset({"text/plain", "image/jpeg", "application/pdf"})


def test_a_link_spec_takes_its_fields_and_defaults() -> None:
    spec = sharing.new_link({"password": "long enough", "max_downloads": 3, "label": " Ana "})
    assert (spec.lifetime, spec.password, spec.max_downloads, spec.label) == (3600, "long enough", 3, "Ana")
    assert sharing.new_link({}).password is None


@pytest.mark.parametrize(
    "body",
    [
        {"password": "short"},
        {"password": 12345678},
        {"password": "x" * 257},
        {"max_downloads": 0},
        {"max_downloads": True},
        {"max_downloads": 10**30},
        {"expires_in": 90 * 24 * 3600 + 1},
        {"label": "x" * 201},
        {"expiry": 60},
    ],
    ids=["short", "number", "long", "zero", "bool", "absurd", "too-long-life", "long-label", "unknown"],
)
def test_a_link_spec_refuses(body: dict) -> None:
    with pytest.raises(Problem) as refused:
        sharing.new_link(body)
    assert refused.value.status == 400


def test_a_label_reads_as_it_is_shown() -> None:
    assert sharing.new_link({"label": "a\u0085b\u2028c\u202eexe.pdf \t x"}).label == "abcexe.pdf x"
    assert sharing.new_link({"label": "\u200b"}).label is None


def test_a_file_request_spec_keeps_types_within_the_services() -> None:
    spec = sharing.new_file_request(
        {"allowed_types": ["image/jpeg", "text/plain; charset=utf-8"]}, allowed=ALLOWED, max_file_size=100
    )
    assert spec.allowed_types == ("image/jpeg", "text/plain") and spec.max_file_size == 100
    with pytest.raises(Problem) as refused:
        sharing.new_file_request({"allowed_types": ["text/html"]}, allowed=ALLOWED, max_file_size=100)
    assert refused.value.status == 415
    with pytest.raises(Problem):
        sharing.new_file_request({"max_file_size": 101}, allowed=ALLOWED, max_file_size=100)
    with pytest.raises(Problem):
        sharing.new_file_request({"allowed_types": []}, allowed=ALLOWED, max_file_size=100)


def test_token_subjects_name_one_kind_of_record() -> None:
    key = b"k" * 32
    token = sign("link:" + "a" * 22, 2_000_000_000, key)
    subject, expires = claims(token, key, 1_999_999_000, 10_000)
    assert sharing.record_id(subject, sharing.LINK_SUBJECT) == "a" * 22 and expires == 2_000_000_000
    assert sharing.record_id(subject, sharing.REQUEST_SUBJECT) is None
    assert sharing.record_id("link:../../x", sharing.LINK_SUBJECT) is None


def test_the_form_password_is_read_from_a_urlencoded_body() -> None:
    assert sharing.form_password(b"password=caf%C3%A9+au+lait") == "café au lait"
    assert sharing.form_password(b"other=1") is None
    assert sharing.form_password(b"\xff\xfe") is None


def test_the_stored_form_round_trips_and_matches_pbkdf2() -> None:
    salt = b"s" * 16
    derived = hashlib.pbkdf2_hmac("sha256", b"hunter22", salt, passwords.ITERATIONS)
    stored = passwords.encode(salt, passwords.ITERATIONS, derived)
    assert stored.startswith("pbkdf2-sha256$100000$")
    assert passwords.decode(stored) == (salt, passwords.ITERATIONS, derived)
    assert passwords.matches(derived, hashlib.pbkdf2_hmac("sha256", b"hunter22", salt, passwords.ITERATIONS))
    assert not passwords.matches(derived, hashlib.pbkdf2_hmac("sha256", b"hunter23", salt, passwords.ITERATIONS))
    for bad in ("", "md5$1$a$b", "pbkdf2-sha256$x$a$b", "pbkdf2-sha256$1$a"):
        with pytest.raises(ValueError):
            passwords.decode(bad)


def test_passwords_that_a_header_cannot_carry_intact_are_refused_and_others_are_read_back() -> None:
    for bad in (" leading", "trailing ", "tab\tinside", "nul\x00inside"):
        with pytest.raises(Problem):
            passwords.check_policy(bad)
    assert passwords.check_policy("пароль для квитанций") == "пароль для квитанций"
    assert "пароль" in passwords.header_candidates("пароль".encode().decode("latin-1"))
    assert "пароль" in passwords.header_candidates("%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8C")
    assert passwords.header_candidates("50%off")[0] == "50%off"
    assert passwords.header_candidates("plain") == ["plain"]

"""WebDAV's pure parts: paths and hrefs, request bodies (PROPFIND, PROPPATCH, LOCK) including
hostile ones, the If header, and the lock table against CPython's SQLite."""

from collections.abc import Iterator

import pytest

from durable_objects.dav_locks import DavLocks
from edgefiles.domain import dav, dav_if
from unit.test_ledger import Sql

NOW = 1_000_000


def test_paths_and_hrefs_round_trip() -> None:
    names = dav.split_path("/dav/reports/2026/q3%20%C3%A9t%C3%A9.pdf")
    assert names == ["reports", "2026", "q3 été.pdf"]
    assert dav.split_path(dav.href(names, False)) == names
    assert dav.href(["a b", "c"], True) == "/dav/a%20b/c/" and dav.href([], True) == "/dav/"
    assert dav.split_path("/dav") == [] and dav.split_path("/dav//x//") == ["x"]
    assert dav.destination("http://example.com/dav/a/b") == ["a", "b"]
    for bad in ["/api/files", "/dav/a%2Fb", "/dav/%ff", "/dav/%00", "/dav/..", "/davx"]:
        with pytest.raises(dav.DavError):
            dav.split_path(bad)
    assert dav.depth(None) == "infinity" and dav.depth("1") == "1"
    assert dav.overwrite(None) is True and dav.overwrite("f") is False
    with pytest.raises(dav.DavError):
        dav.depth("2")
    with pytest.raises(dav.DavError):
        dav.overwrite("maybe")


def test_propfind_bodies() -> None:
    assert dav.parse_propfind(b"") == dav.Propfind("allprop")
    assert dav.parse_propfind(b'<propfind xmlns="DAV:"><foobar/><allprop/></propfind>').kind == "allprop"
    asked = dav.parse_propfind(b'<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><x xmlns=""/></D:prop></D:propfind>')
    assert asked.names == (("DAV:", "getetag"), ("", "x"))
    for bad in [b"<foo>", b'<D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>']:
        with pytest.raises(dav.DavError):
            dav.parse_propfind(bad)


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><D:propfind xmlns:D="DAV:"/>',
        b"<D:propfind xmlns:D='DAV:'>" + b"<a>" * 100 + b"</a>" * 100 + b"</D:propfind>",
        b"<D:propfind xmlns:D='DAV:'>" + b"<a>" * 50_000,
        b" " * (dav.MAX_XML_BODY + 1) + b"<x/>",
    ],
    ids=["doctype", "nested-100", "nested-50k-unclosed", "too-large"],
)
def test_hostile_xml_is_refused_before_a_tree_is_built(body: bytes) -> None:
    with pytest.raises(dav.DavError):
        dav.parse_propfind(body)


def test_proppatch_keeps_document_order_and_values_as_xml() -> None:
    changes = dav.parse_proppatch(
        b"<propertyupdate xmlns='DAV:'>"
        b"<remove><prop><r xmlns='urn:x'/></prop></remove>"
        b"<set><prop><r xmlns='urn:x'>x</r></prop></set>"
        b"<set><prop><t:v xmlns:t='urn:x'><foo xmlns='http://bar'/>&amp;&#65536;</t:v>"
        b"<n xmlns=''>plain</n></prop></set>"
        b"</propertyupdate>"
    )
    assert [(c.remove, c.name) for c in changes] == [
        (True, ("urn:x", "r")),
        (False, ("urn:x", "r")),
        (False, ("urn:x", "v")),
        (False, ("", "n")),
    ]
    assert changes[2].value.startswith("<ns0:foo") and changes[2].value.endswith("&amp;\U00010000")
    rendered = dav.element(("", "n"), "plain") + dav.element(("urn:x", "v"), changes[2].value)
    assert rendered.startswith('<n xmlns="">plain</n>')
    with pytest.raises(dav.DavError):
        dav.parse_proppatch(b"<propertyupdate xmlns='DAV:'><set><prop/></set></propertyupdate>")


def test_lockinfo() -> None:
    info = dav.parse_lockinfo(
        b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype>'
        b"<D:owner><D:href>mailto:a@example.com</D:href></D:owner></D:lockinfo>"
    )
    assert info.scope == "shared" and "mailto:a@example.com" in info.owner
    with pytest.raises(dav.DavError):
        dav.parse_lockinfo(b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope></D:lockinfo>')


def _state(etag: str | None, tokens: set[str]) -> object:
    return lambda _resource: (etag, tokens)


@pytest.mark.parametrize(
    ("header", "holds"),
    [
        ('(<urn:uuid:t1> ["e1"])', True),  # litmus cond_put
        ('(<DAV:no-lock> ["e1"])', False),  # fail_cond_put
        ("(<urn:uuid:t1>) (Not <DAV:no-lock>)", True),  # cond_put_with_not
        ("(<urn:uuid:t1x>) (Not <DAV:no-lock>)", True),  # cond_put_corrupt_token: holds; the lock check refuses
        ('(<urn:uuid:t1> ["e2"]) (Not <DAV:no-lock> ["e2"])', False),  # fail_complex_cond_put
        ("(<DAV:no-lock>)", False),  # fail_cond_put_unlocked
        ("<http://h/dav/x> (<urn:uuid:t1>)", True),  # tagged
    ],
)
def test_if_header_evaluation(header: str, holds: bool) -> None:
    lists = dav_if.parse(header)
    assert dav_if.holds(lists, ["x"], _state('"e1"', {"urn:uuid:t1"})) is holds


def test_if_header_syntax_and_submitted_tokens() -> None:
    lists = dav_if.parse('(<urn:a> [W/"e"]) <http://h/dav/b> (Not <urn:b>)')
    assert dav_if.submitted(lists) == {"urn:a", "urn:b"}
    assert dav_if.resources(lists, ["x"]) == [["x"], ["b"]]
    for bad in ["", "(", "(<urn:a>", "<http://h/dav/x>", "([unquoted])", "(foo)", "<http://h/api/x> (<urn:a>)"]:
        with pytest.raises(dav_if.IfSyntaxError):
            dav_if.parse(bad)


@pytest.fixture
def locks() -> Iterator[DavLocks]:
    sql = Sql()
    table = DavLocks(sql)
    table.migrate()
    yield table
    sql.db.close()


def _lock(token: str, root: str, scope: str = "exclusive", depth: str = "0", seconds: int = 60) -> dict:
    return {"token": token, "root": root, "depth": depth, "scope": scope, "owner": "o", "timeout_seconds": seconds}


def test_locks_conflict_by_scope_and_depth(locks: DavLocks) -> None:
    assert locks.lock(_lock("a", "docs", depth="infinity"), NOW)["ok"]
    assert locks.lock(_lock("b", "docs/x.txt"), NOW) == {"ok": False, "conflict": "docs"}
    assert locks.lock(_lock("c", "other.txt"), NOW)["ok"]
    assert not locks.lock(_lock("d", "", depth="infinity"), NOW)["ok"]  # the root would cover both
    assert locks.lock(_lock("s1", "shared.txt", "shared"), NOW)["ok"]
    assert locks.lock(_lock("s2", "shared.txt", "shared"), NOW)["ok"]
    assert not locks.lock(_lock("e", "shared.txt"), NOW)["ok"]
    assert [lock["token"] for lock in locks.covering("docs/deep/file", NOW)] == ["a"]
    assert {lock["token"] for lock in locks.touching("", NOW)} == {"a", "c", "s1", "s2"}
    assert locks.covering("docsx", NOW) == []  # a sibling whose name starts the same


def test_locks_refresh_unlock_forget_and_expire(locks: DavLocks) -> None:
    locks.lock(_lock("a", "docs", depth="infinity", seconds=10), NOW)
    assert locks.refresh(["zzz"], "docs", 100, NOW) is None
    refreshed = locks.refresh(["a"], "docs/member.txt", 100, NOW)  # through a member
    assert refreshed["expires_at"] == NOW + 100_000
    assert not locks.unlock("a", "elsewhere", NOW)
    assert locks.unlock("a", "docs/member.txt", NOW)
    locks.lock(_lock("b", "tree/x"), NOW)
    assert locks.forget("tree") == 1 and locks.covering("tree/x", NOW) == []
    locks.lock(_lock("c", "short", seconds=1), NOW)
    assert locks.covering("short", NOW + 1000) == []  # expired

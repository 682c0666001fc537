"""WebDAV at /dav/ against the clients people use: the litmus suite (Debian's `litmus`, the
reference test of WebDAV servers) and rclone (Debian's `rclone`, owncloud mode) syncing a tree
up and back; then what a file service adds: replacing, typing, the trash, quotas, other users,
hostile bodies, and a 250 MB PUT in bounded memory."""

import base64
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_client import ADMIN_TOKEN, SIGNING_KEY, User, UserFactory, settled
from runtime_harness import ROOT, PeakMemory, Runtime, running

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
LITMUS_GROUPS = ("basic", "copymove", "props", "locks")


def dav(user: User, runtime: Runtime) -> httpx.Client:
    """A client that signs in as WebDAV clients do: Basic, the API key as the password."""
    auth = base64.b64encode(f"{user.user_id}:{user.key}".encode()).decode()
    return httpx.Client(base_url=f"{runtime.url}/dav", headers={"authorization": f"Basic {auth}"}, timeout=120)


@pytest.fixture
def alice(users: UserFactory) -> User:
    return users.new("dav")


def require(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is missing: `make test` installs Debian's {tool} package (scripts/install-webdav-tools)"
    return path


def test_litmus_passes_basic_copymove_props_and_locks(edgefiles: Runtime, alice: User, tmp_path: Path) -> None:
    """All four groups, every test (litmus 0.13: 16 + 13 + 30 + 41)."""
    result = subprocess.run(
        [require("litmus"), "-k", f"{edgefiles.url}/dav/", alice.user_id, alice.key],
        env={**os.environ, "TESTS": " ".join(LITMUS_GROUPS)},
        cwd=tmp_path,  # litmus writes its debug.log here
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    failed = {
        group: n
        for group, n in re.findall(r"summary for `(\w+)': of \d+ tests run: \d+ passed, (\d+) failed", result.stdout)
    }
    assert set(failed) == set(LITMUS_GROUPS), result.stdout[-3000:]
    assert all(n == "0" for n in failed.values()), result.stdout[-3000:]
    assert "SKIPPED" not in result.stdout, result.stdout[-3000:]


def rclone_env(runtime: Runtime, user: User) -> dict[str, str]:
    obscured = subprocess.run(
        [require("rclone"), "obscure", user.key], capture_output=True, text=True, check=True
    ).stdout.strip()
    return {
        **os.environ,
        "RCLONE_CONFIG": "/dev/null",
        "RCLONE_CONFIG_EF_TYPE": "webdav",
        "RCLONE_CONFIG_EF_URL": f"{runtime.url}/dav/",
        "RCLONE_CONFIG_EF_VENDOR": "owncloud",
        "RCLONE_CONFIG_EF_USER": user.user_id,
        "RCLONE_CONFIG_EF_PASS": obscured,
    }


def rclone(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [require("rclone"), *args, "--transfers", "8", "-v"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def tree_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_rclone_syncs_a_tree_of_200_files_up_and_back(edgefiles: Runtime, alice: User, tmp_path: Path) -> None:
    source = tmp_path / "source"
    for i in range(200):
        folder = source / ["", "reports/2026", "photos", "reports"][i % 4]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file-{i:03}.bin").write_bytes(os.urandom(100 + (i * 997) % 70_000))
    (source / "photos" / "été — ünïcode.txt").write_text("a name as people write them\n")
    env = rclone_env(edgefiles, alice)

    rclone(env, "sync", str(source), "ef:backup")
    checked = rclone(env, "check", str(source), "ef:backup")
    assert "0 differences found" in checked, checked
    assert "201 matching files" in checked, checked
    assert "hashes could not be checked" not in checked, checked  # MD5 compared, not just sizes

    back = tmp_path / "back"
    rclone(env, "copy", "ef:backup", str(back))
    assert tree_digests(back) == tree_digests(source)

    uploads = alice.client.get("/api/stats").json()["upload_count"]
    again = rclone(env, "sync", str(source), "ef:backup")
    assert "There was nothing to transfer" in again, again  # sizes, times and hashes agree
    assert alice.client.get("/api/stats").json()["upload_count"] == uploads

    # The same tree through the API: folders and files where rclone put them.
    root = alice.client.get("/api/folders/root/entries").json()["items"]
    backup = next(item for item in root if item["kind"] == "folder" and item["name"] == "backup")
    entries = alice.client.get(f"/api/folders/{backup['id']}/entries").json()["items"]
    names = [item.get("name") or item["filename"] for item in entries]
    assert names[:2] == ["photos", "reports"]


def test_put_replaces_types_and_trashes_like_the_api(edgefiles: Runtime, alice: User) -> None:
    with dav(alice, edgefiles) as client:
        assert client.request("MKCOL", "/docs/").status_code == 201
        created = client.put("/docs/notes.txt", content=b"first version of the notes")
        assert created.status_code == 201 and created.headers["etag"]
        patched = client.request(
            "PROPPATCH",
            "/docs/notes.txt",
            content=b'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            b'<x:color xmlns:x="urn:example">blue</x:color></D:prop></D:set></D:propertyupdate>',
        )
        assert patched.status_code == 207
        [first] = alice.client.get("/api/files").json()["items"]
        replaced = client.put("/docs/notes.txt", content=b"second version")
        assert replaced.status_code == 204
        [second] = alice.client.get("/api/files").json()["items"]
        assert second["id"] != first["id"] and second["size_bytes"] == len(b"second version")
        assert alice.client.get(f"/api/files/{first['id']}").status_code == 404
        assert client.get("/docs/notes.txt").content == b"second version"
        found = client.request(
            "PROPFIND",
            "/docs/notes.txt",
            headers={"depth": "0"},
            content=b'<D:propfind xmlns:D="DAV:"><D:prop><x:color xmlns:x="urn:example"/></D:prop></D:propfind>',
        )
        assert ">blue<" in found.text  # dead properties pass to the replacing file
        quota = alice.client.get("/api/stats").json()["quota"]
        assert quota["used_bytes"] == len(b"second version") and quota["reserved_bytes"] == 0

        # Types: declared, guessed from the name, or octet-stream; never refused.
        assert (
            client.put("/docs/fake.png", content=b"not a png at all", headers={"content-type": "image/png"}).status_code
            == 201
        )
        assert client.put("/docs/app.exe", content=b"MZ...").status_code == 201
        assert client.put("/docs/data.json", content=b'{"a": 1}').status_code == 201
        types = {f["filename"]: f["content_type"] for f in alice.client.get("/api/files").json()["items"]}
        assert types["fake.png"] == "application/octet-stream"
        assert types["app.exe"] == "application/octet-stream"
        assert types["data.json"] == "application/json"
        # Processed by the queue like any upload.
        assert settled(alice, second["id"])["status"] == "completed"

        # Finder's chunked PUT with the expected length; without any length it is refused.
        def chunks() -> Iterator[bytes]:
            yield b"sent "
            yield b"in chunks"

        chunked = client.put("/docs/finder.txt", content=chunks(), headers={"x-expected-entity-length": "14"})
        assert chunked.status_code == 201 and client.get("/docs/finder.txt").content == b"sent in chunks"
        assert client.put("/docs/nolength.txt", content=chunks()).status_code == 411

        # DELETE goes to the trash, a folder with everything in it.
        assert client.delete("/docs/").status_code == 204
        assert client.request("PROPFIND", "/docs/", headers={"depth": "0"}).status_code == 404
        assert [f["name"] for f in alice.client.get("/api/trash/folders").json()["items"]] == ["docs"]


def test_other_users_and_bad_credentials_see_nothing(edgefiles: Runtime, users: UserFactory) -> None:
    alice, bob = users.new("dav"), users.new("dav")
    with dav(alice, edgefiles) as a, dav(bob, edgefiles) as b:
        assert a.put("/secret.txt", content=b"alice only").status_code == 201
        locked = a.request(
            "LOCK",
            "/secret.txt",
            content=b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
            b"<D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>",
        )
        assert locked.status_code == 200
        token = locked.headers["lock-token"]
        assert b.get("/secret.txt").status_code == 404
        listing = b.request("PROPFIND", "/", headers={"depth": "1"})
        assert listing.status_code == 207 and "secret" not in listing.text
        assert b.request("UNLOCK", "/secret.txt", headers={"lock-token": token}).status_code == 409
        moved = b.request("MOVE", "/x.txt", headers={"destination": f"{edgefiles.url}/dav/secret.txt"})
        assert moved.status_code == 404
        # Alice's own lock holds against her requests without the token.
        assert a.put("/secret.txt", content=b"overwritten").status_code == 423
        assert a.put("/secret.txt", content=b"with the token", headers={"if": f"({token})"}).status_code == 204
    wrong = httpx.get(f"{edgefiles.url}/dav/", auth=("alice", "ef_000000000000_" + "x" * 43))
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic")
    assert httpx.request("PROPFIND", f"{edgefiles.url}/dav/").status_code == 401


@pytest.mark.parametrize(
    ("method", "body", "status"),
    [
        ("PROPFIND", b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><D:propfind xmlns:D="DAV:"/>', 400),
        ("PROPFIND", b"<D:propfind xmlns:D='DAV:'><D:prop>" + b"<a>" * 20_000 + b"</a>" * 20_000, 400),
        ("PROPFIND", b"<D:propfind xmlns:D='DAV:'><D:allprop/></D:propfind>" + b" " * (300 * 1024), 413),
        ("PROPPATCH", b"<D:propertyupdate xmlns:D='DAV:'><D:set><D:prop/></D:set></D:propertyupdate>", 400),
        ("PROPPATCH", b"not xml", 400),
        ("LOCK", b"<D:lockinfo xmlns:D='DAV:'><D:lockscope><D:weird/></D:lockscope></D:lockinfo>", 400),
        ("MKCOL", b"<body/>", 415),
    ],
    ids=["doctype", "deep-nesting", "huge-body", "empty-update", "not-xml", "bad-lockinfo", "mkcol-body"],
)
def test_hostile_bodies_are_refused_and_change_nothing(
    edgefiles: Runtime, alice: User, method: str, body: bytes, status: int
) -> None:
    with dav(alice, edgefiles) as client:
        assert client.put("/kept.txt", content=b"kept").status_code == 201
        path = "/target/" if method == "MKCOL" else "/kept.txt"
        response = client.request(method, path, content=body, headers={"depth": "0"})
        assert response.status_code == status, response.text[:500]
        assert "Traceback" not in response.text
        assert client.get("/kept.txt").content == b"kept"
        assert [f["filename"] for f in alice.client.get("/api/files").json()["items"]] == ["kept.txt"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/a%2Fb", 400),
        ("/%00x", 400),
        ("/%ff%fe", 400),
        ("/" + "d/" * 40 + "x", 400),
        ("/%E2%80%AEtxt.exe", 400),
    ],
    ids=["encoded-slash", "nul", "not-utf8", "too-deep", "rtl-override"],
)
def test_paths_that_name_nothing_are_refused(edgefiles: Runtime, alice: User, path: str, status: int) -> None:
    with dav(alice, edgefiles) as client:
        assert client.put(path, content=b"x").status_code == status
    assert alice.client.get("/api/files").json()["items"] == []


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime as on an Enterprise zone (500 MB request bodies) with WebDAV PUTs up to 300 MB."""
    state = tmp_path_factory.mktemp("enterprise-state")
    args = [
        f"--var=ADMIN_TOKEN:{ADMIN_TOKEN}",
        f"--var=SIGNING_KEY:{SIGNING_KEY}",
        "--var=MAX_DAV_FILE_SIZE:300000000",
        "--zone-plan=enterprise",
    ]
    with running(ROOT / "wrangler.toml", state, state / "runtime.log", args=args) as runtime:
        yield runtime


def test_a_250_mb_put_streams_through_in_bounded_memory(enterprise: Runtime, tmp_path: Path) -> None:
    """Issue 16: a 250 MB WebDAV PUT grows the runtime by less than 32 MB."""
    factory = UserFactory(enterprise)
    user = factory.new("dav-big")
    size = 250 * 1000 * 1000
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        block = os.urandom(MiB)
        for i in range(size // MiB):
            piece = block[:-8] + i.to_bytes(8, "big")
            digest.update(piece)
            yield piece
        tail = os.urandom(size % MiB)
        digest.update(tail)
        yield tail

    with dav(user, enterprise) as client, PeakMemory(enterprise) as memory:
        response = client.put("/archive.bin", content=body(), headers={"content-length": str(size)})
    assert response.status_code == 201, response.text
    print(f"250 MB WebDAV PUT: runtime RSS {memory.baseline / MiB:.0f} MiB, peak +{memory.growth / MiB:.1f} MiB")
    assert memory.growth < 32 * MiB
    served = hashlib.sha256()
    with dav(user, enterprise) as client, client.stream("GET", "/archive.bin") as download:
        for block in download.iter_bytes():
            served.update(block)
    assert served.hexdigest() == digest.hexdigest()
    factory.close()


LOCKINFO = (
    b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope>'
    b"<D:locktype><D:write/></D:locktype><D:owner>%s</D:owner></D:lockinfo>"
)


def test_what_an_attack_found_is_refused_and_changes_nothing(edgefiles: Runtime, users: UserFactory) -> None:
    """Findings of a helper's attack on this endpoint, each now a 4xx that changes nothing."""
    user = users.new("dav-attack")
    with dav(user, edgefiles) as client:
        client.request("MKCOL", "/d/")
        assert client.put("/d/f.txt", content=b"inside").status_code == 201
        # A DOCTYPE in a UTF-16 body without a byte-order mark (valid UTF-8 too) expanded entities.
        hidden = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "EXPANDED">]>'.encode("utf-16-le")
        assert client.request("PROPPATCH", "/d/f.txt", content=hidden).status_code == 400
        # MOVE onto the folder holding the source trashed the folder, then refused.
        moved = client.request("MOVE", "/d/f.txt", headers={"destination": "/dav/d", "overwrite": "T"})
        assert moved.status_code == 409
        assert client.get("/d/f.txt").content == b"inside"
        # Outsized owners and values are refused instead of stored (and loaded by every request).
        assert client.request("LOCK", "/d/f.txt", content=LOCKINFO % (b"o" * 5000)).status_code == 400
        big = b"<D:propertyupdate xmlns:D='DAV:'><D:set><D:prop><x:v xmlns:x='urn:x'>" + b"v" * 20_000
        assert (
            client.request(
                "PROPPATCH", "/d/f.txt", content=big + b"</x:v></D:prop></D:set></D:propertyupdate>"
            ).status_code
            == 400
        )
        # Any XML name is a property name, and reads back.
        named = b"<D:propertyupdate xmlns:D='DAV:'><D:set><D:prop><x:\xc3\xa9bc xmlns:x='urn:x'>1</x:\xc3\xa9bc>"
        assert (
            client.request("PROPPATCH", "/d/f.txt", content=named + b"</D:prop></D:set></D:propertyupdate>").status_code
            == 207
        )
        assert client.request("PROPFIND", "/d/", headers={"depth": "1"}).status_code == 207
        # Digits that are not ASCII, and an If header naming hundreds of resources.
        assert (
            client.request(
                "LOCK", "/d/f.txt", content=LOCKINFO % b"me", headers={"timeout": "Second-\u00b2".encode()}
            ).status_code
            == 200
        )
        assert client.put("/d/g.txt", content=b"x", headers={"x-oc-mtime": "\u00b2".encode()}).status_code == 201
        tagged = " ".join(f"</dav/n{i}> (<urn:x>)" for i in range(500))
        assert client.put("/d/h.txt", content=b"x", headers={"if": tagged}).status_code == 400
        # A chunked body longer or shorter than announced, or announced empty.
        for announced in ("10", "10000", "0"):
            response = client.put(
                "/d/chunked.txt", content=iter([b"x" * 5000]), headers={"x-expected-entity-length": announced}
            )
            assert response.status_code == 400, (announced, response.text)
        # A Destination on another server.
        elsewhere = client.request("COPY", "/d/f.txt", headers={"destination": "http://evil.example/dav/c.txt"})
        assert elsewhere.status_code == 502
    names = {f["filename"] for f in user.client.get("/api/files").json()["items"]}
    assert names == {"f.txt", "g.txt"}
    assert user.client.get("/api/trash/folders").json()["items"] == []


def test_copies_that_cannot_finish_leave_the_destination_alone(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("dav-copy")
    with dav(user, edgefiles) as client:
        client.request("MKCOL", "/big/")
        for i in range(201):
            assert client.put(f"/big/{i}.txt", content=b"x").status_code == 201
        client.request("MKCOL", "/victim/")
        client.put("/victim/keep.txt", content=b"keep")
        assert (
            client.request("COPY", "/big/", headers={"destination": "/dav/victim/", "overwrite": "T"}).status_code
            == 507
        )
        assert client.get("/victim/keep.txt").content == b"keep"
        users.admin().put(f"/api/admin/users/{user.user_id}/quota", json={"max_bytes": 70_000})
        client.put("/a.bin", content=os.urandom(60_000))
        assert client.request("COPY", "/a.bin", headers={"destination": "/dav/victim/keep.txt"}).status_code == 413
        assert client.get("/victim/keep.txt").content == b"keep"
        # A folder moved where it would nest too deep.
        deep = "/".join(f"l{i}" for i in range(25))
        path = ""
        for part in deep.split("/"):
            path += f"/{part}"
            assert client.request("MKCOL", path + "/").status_code == 201
        tree = "/".join(f"t{i}" for i in range(10))
        path = ""
        for part in tree.split("/"):
            path += f"/{part}"
            client.request("MKCOL", path + "/")
        assert client.request("MOVE", "/t0/", headers={"destination": f"/dav/{deep}/t0/"}).status_code == 403
    assert user.client.get("/api/trash/folders").json()["items"] == []
    assert user.client.get("/api/stats").json()["quota"]["reserved_bytes"] == 0


def test_parallel_puts_of_one_path_leave_one_file(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("dav-race")
    with dav(user, edgefiles) as client:
        from concurrent.futures import ThreadPoolExecutor

        def put(i: int) -> int:
            return client.put("/race.bin", content=os.urandom(5000)).status_code

        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(put, range(20)))
    assert all(status in (201, 204) for status in statuses), sorted(statuses)
    files = user.client.get("/api/files").json()["items"]
    assert [f["filename"] for f in files] == ["race.bin"]
    quota = user.client.get("/api/stats").json()["quota"]
    assert quota["used_bytes"] == 5000 and quota["reserved_bytes"] == 0


def test_second_attack_findings(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("dav-attack2")
    with dav(user, edgefiles) as client:
        client.request("MKCOL", "/L/")
        client.put("/L/old.txt", content=b"old")
        # A depth-0 lock on a collection guards its membership.
        locked = client.request(
            "LOCK", "/L/", headers={"depth": "0"}, content=LOCKINFO.replace(b"shared", b"exclusive") % b"me"
        )
        assert locked.status_code == 200
        token = locked.headers["lock-token"]
        assert client.put("/L/new.txt", content=b"x").status_code == 423
        assert client.delete("/L/old.txt").status_code == 423
        assert client.request("MKCOL", "/L/sub/").status_code == 423
        tagged = f"<{edgefiles.url}/dav/L/> ({token})"  # the token is the collection's: a tagged list
        assert client.put("/L/new.txt", content=b"x", headers={"if": tagged}).status_code == 201
        # Malformed URIs in Destination and If are a 400, not a 500.
        assert client.request("COPY", "/L/old.txt", headers={"destination": "http://[::1/dav/x"}).status_code == 400
        assert (
            client.put("/x.txt", content=b"x", headers={"if": "<http://[zz]/dav/x.txt> (<urn:x>)"}).status_code == 400
        )
        # A PROPFIND naming too many properties; concurrent PROPPATCHes past the limit.
        many = b"".join(b"<x:p%d xmlns:x='urn:x'/>" % i for i in range(400))
        body = b"<D:propfind xmlns:D='DAV:'><D:prop>" + many + b"</D:prop></D:propfind>"
        assert client.request("PROPFIND", "/L/old.txt", headers={"depth": "0"}, content=body).status_code == 400

        def props(start: int) -> int:
            sets = b"".join(b"<x:q%d xmlns:x='urn:x'>v</x:q%d>" % (i, i) for i in range(start, start + 40))
            update = (
                b"<D:propertyupdate xmlns:D='DAV:'><D:set><D:prop>" + sets + b"</D:prop></D:set></D:propertyupdate>"
            )
            return client.request("PROPPATCH", "/x.txt", content=update).status_code

        client.put("/x.txt", content=b"x")
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(props, range(0, 400, 40)))
        assert statuses == [207] * 10  # each all or nothing: 200s, or 507s past the limit
        listed = client.request(
            "PROPFIND",
            "/x.txt",
            headers={"depth": "0"},
            content=b"<D:propfind xmlns:D='DAV:'><D:propname/></D:propfind>",
        )
        assert 0 < listed.text.count("urn:x") <= 200


def test_a_folder_copy_failing_half_way_is_undone(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("dav-undo")
    with dav(user, edgefiles) as client:
        client.request("MKCOL", "/src/")
        for i in range(5):
            client.put(f"/src/{i}.txt", content=b"copy me")
        client.request("MKCOL", "/dst/")
        client.put("/dst/keep.txt", content=b"keep")
        used = user.client.get("/api/stats").json()["quota"]["used_bytes"]
        with edgefiles.fault("STORAGE.put", count=1, skip=2):  # the third file's write fails
            response = client.request("COPY", "/src/", headers={"destination": "/dav/dst/", "overwrite": "T"})
        assert response.status_code == 503
        assert client.get("/dst/keep.txt").content == b"keep"  # the destination is back
        listing = client.request("PROPFIND", "/dst/", headers={"depth": "1"})
        assert "0.txt" not in listing.text  # nothing of the copy is left
    quota = user.client.get("/api/stats").json()["quota"]
    assert quota["used_bytes"] == used and quota["reserved_bytes"] == 0

"""Folders: a per-user tree of names. Listing, moves and renames (rows only: the bytes, links
and ids stay), recursive delete into the trash and back, and the rules D1 keeps whatever the
timing: one live name per folder across files and folders, nothing put into a deleted folder."""

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest

from api_client import User, UserFactory
from invariants import database
from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e

DAY_MS = 24 * 3600 * 1000


def mkdir(user: User, name: str, parent: str | None = None) -> dict:
    response = user.client.post("/api/folders", json={"name": name, "parent_id": parent})
    assert response.status_code == 201, response.text
    return response.json()


def put(user: User, name: str, body: bytes, folder: str | None = None, content_type: str = "text/plain") -> dict:
    params = {"folder_id": folder} if folder else None
    response = user.client.put(
        f"/api/files/{name}", content=body, headers={"content-type": content_type}, params=params
    )
    assert response.status_code == 201, response.text
    return response.json()


def entries(user: User, folder: str = "root", limit: int = 100) -> list[tuple[str, str]]:
    """Every entry of a folder, page by page, as (kind, name)."""
    found, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = user.client.get(f"/api/folders/{folder}/entries", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        found += [
            (item["kind"], item["name"] if item["kind"] == "folder" else item["filename"]) for item in body["items"]
        ]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_a_tree_lists_folders_first_by_name_across_pages_with_its_path(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("tree")
    reports = mkdir(user, "reports")
    year = mkdir(user, "2026", reports["id"])
    mkdir(user, "archive", reports["id"])
    put(user, "q3.pdf", b"%PDF-1.4 third quarter", year["id"], "application/pdf")
    form = user.client.post(
        "/api/files",
        files={"file": ("q4.txt", b"fourth", "text/plain")},
        data={"folder_id": year["id"]},
    )
    assert form.status_code == 201 and form.json()["folder_id"] == year["id"]
    put(user, "b.txt", b"b", reports["id"])
    put(user, "a.txt", b"a", reports["id"])

    assert entries(user, reports["id"], limit=1) == [
        ("folder", "2026"),
        ("folder", "archive"),
        ("file", "a.txt"),
        ("file", "b.txt"),
    ]
    assert entries(user, year["id"], limit=2) == [("file", "q3.pdf"), ("file", "q4.txt")]
    assert ("folder", "reports") in entries(user)
    assert user.client.get("/api/stats").json()["folder_count"] == 3
    assert all(kind == "folder" for kind, _ in entries(user))  # nothing of this user is in the root

    folder = user.client.get(f"/api/folders/{year['id']}").json()
    assert [step["name"] for step in folder["path"]] == ["reports", "2026"]
    assert folder["parent_id"] == reports["id"]
    assert user.client.get("/api/folders/root").json()["path"] == []
    # Another user's folder does not exist for this one, nor may files be put in it.
    other = users.new("tree")
    assert other.client.get(f"/api/folders/{year['id']}").status_code == 404
    assert other.client.get(f"/api/folders/{year['id']}/entries").status_code == 404
    refused = other.client.put("/api/files/x.txt", content=b"x", params={"folder_id": year["id"]})
    assert refused.status_code == 409
    assert other.client.post("/api/folders", json={"name": "x", "parent_id": year["id"]}).status_code == 409


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("", 400),
        (".", 400),
        ("..", 400),
        ("a/b", 400),
        ("a\\b", 400),
        (" padded", 400),
        ("invoice\u202egnp.exe", 400),
        ("x" * 256, 400),
        (7, 400),
        (".config", 201),
        ("a  b", 201),
        ("Ünïcödé 文件夹 📁", 201),
    ],
)
def test_folder_names_are_refused_not_rewritten(
    edgefiles: Runtime, users: UserFactory, name: object, status: int
) -> None:
    user = users.new("names")
    response = user.client.post("/api/folders", json={"name": name})
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["name"] == name
    else:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert entries(user) == []


def test_a_name_is_one_thing_per_folder_and_uploads_take_a_numbered_one(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("clash")
    docs = mkdir(user, "docs")
    assert user.client.post("/api/folders", json={"name": "docs"}).status_code == 409
    # NFC and NFD spellings are the same name.
    assert user.client.post("/api/folders", json={"name": "caf\u00e9"}).status_code == 201
    assert user.client.post("/api/folders", json={"name": "cafe\u0301"}).status_code == 409

    first = put(user, "notes.txt", b"one")
    second = put(user, "notes.txt", b"two")
    over_folder = put(user, "docs", b"a file named like the folder")
    assert (first["filename"], second["filename"], over_folder["filename"]) == (
        "notes.txt",
        "notes (2).txt",
        "docs (2)",
    )
    assert user.client.post("/api/folders", json={"name": "notes.txt"}).status_code == 409

    # Concurrent uploads of one name into one folder all land, each under its own name.
    def send(i: int) -> str:
        return put(user, "race.txt", f"body {i}".encode(), docs["id"])["filename"]

    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(send, range(8)))
    assert len(set(names)) == 8 and "race.txt" in names
    assert sorted(name for _, name in entries(user, docs["id"])) == sorted(names)


def test_move_and_rename_change_rows_only(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("move")
    src, dst = mkdir(user, "src"), mkdir(user, "dst")
    inner = mkdir(user, "inner", src["id"])
    body = os.urandom(200_000)
    file = put(user, "photo.bin", body, src["id"], "application/octet-stream")
    link = user.client.post(f"/api/files/{file['id']}/links", json={}).json()["url"]
    user.client.get(f"/api/files/{file['id']}")  # cached: the move must not be served stale

    moved = user.client.patch(f"/api/files/{file['id']}", json={"filename": "renamed.bin", "folder_id": dst["id"]})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["filename"], moved.json()["folder_id"]) == ("renamed.bin", dst["id"])
    assert user.client.get(f"/api/files/{file['id']}").json()["filename"] == "renamed.bin"
    assert (
        hashlib.sha256(user.client.get(f"/api/files/{file['id']}/content").content).digest()
        == hashlib.sha256(body).digest()
    )
    assert users.anonymous().get(link).content == body  # links follow the id
    assert entries(user, dst["id"]) == [("file", "renamed.bin")]

    put(user, "taken.txt", b"x", dst["id"])
    assert user.client.patch(f"/api/files/{file['id']}", json={"filename": "taken.txt"}).status_code == 409
    assert (
        user.client.patch(f"/api/files/{file['id']}", json={"filename": "inner", "folder_id": src["id"]}).status_code
        == 409
    )
    missing = "00000000-0000-4000-8000-000000000000"
    assert user.client.patch(f"/api/files/{file['id']}", json={"folder_id": missing}).status_code == 409
    assert user.client.patch(f"/api/files/{file['id']}", json={"size": 1}).status_code == 400
    assert user.client.patch(f"/api/files/{file['id']}", json={}).status_code == 400

    # A folder moves with what it holds, but never into itself or below itself.
    assert user.client.patch(f"/api/folders/{src['id']}", json={"parent_id": inner["id"]}).status_code == 409
    assert user.client.patch(f"/api/folders/{src['id']}", json={"parent_id": src["id"]}).status_code == 409
    moved_folder = user.client.patch(f"/api/folders/{src['id']}", json={"parent_id": dst["id"], "name": "src2"})
    assert moved_folder.status_code == 200 and moved_folder.json()["parent_id"] == dst["id"]
    path = user.client.get(f"/api/folders/{inner['id']}").json()["path"]
    assert [step["name"] for step in path] == ["dst", "src2", "inner"]
    assert user.client.patch("/api/folders/root", json={"name": "x"}).status_code == 400


def test_folders_nest_at_most_32_deep(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("deep")
    parent = None
    for depth in range(32):
        parent = mkdir(user, f"level {depth}", parent)["id"]
    assert user.client.post("/api/folders", json={"name": "one too deep", "parent_id": parent}).status_code == 409
    top = user.client.get(f"/api/folders/{parent}").json()["path"][0]
    other = mkdir(user, "other")
    assert user.client.patch(f"/api/folders/{top['id']}", json={"parent_id": other["id"]}).status_code == 409


def test_deleting_a_folder_trashes_its_tree_and_restore_brings_back_exactly_that(
    edgefiles: Runtime, users: UserFactory
) -> None:
    user = users.new("rmtree")
    top = mkdir(user, "top")
    sub = mkdir(user, "sub", top["id"])
    files = [
        put(user, f"f{i}.txt", f"file {i}".encode(), folder)
        for i, folder in enumerate([top["id"], sub["id"], sub["id"]])
    ]
    alone = put(user, "alone.txt", b"deleted before its folder", sub["id"])
    assert user.client.delete(f"/api/files/{alone['id']}").status_code == 204
    used = user.client.get("/api/stats").json()["quota"]["used_bytes"]

    assert user.client.delete(f"/api/folders/{top['id']}").status_code == 204
    assert user.client.get(f"/api/folders/{top['id']}").status_code == 404
    assert user.client.get(f"/api/folders/{sub['id']}/entries").status_code == 404
    assert all(user.client.get(f"/api/files/{f['id']}").status_code == 404 for f in files)
    assert ("folder", "top") not in entries(user)
    assert [item["id"] for item in user.client.get("/api/trash/folders").json()["items"]] == [top["id"]]
    assert [item["id"] for item in user.client.get("/api/trash").json()["items"]] == [alone["id"]]
    assert user.client.get("/api/stats").json()["quota"]["used_bytes"] == used  # still stored
    # Nothing can be put into a deleted folder.
    assert user.client.put("/api/files/late.txt", content=b"x", params={"folder_id": sub["id"]}).status_code == 409
    assert user.client.post("/api/folders", json={"name": "late", "parent_id": sub["id"]}).status_code == 409
    assert user.client.delete(f"/api/folders/{top['id']}").status_code == 404

    # Its name is free meanwhile; the restored folder takes a numbered one.
    mkdir(user, "top")
    restored = user.client.post(f"/api/trash/folders/{top['id']}/restore")
    assert restored.status_code == 200 and restored.json()["name"] == "top (2)"
    assert entries(user, top["id"]) == [("folder", "sub"), ("file", "f0.txt")]
    assert entries(user, sub["id"]) == [("file", "f1.txt"), ("file", "f2.txt")]  # not alone.txt
    assert [item["id"] for item in user.client.get("/api/trash").json()["items"]] == [alone["id"]]
    assert user.client.post(f"/api/trash/folders/{top['id']}/restore").status_code == 404
    # A file deleted alone goes back to its folder.
    assert user.client.post(f"/api/trash/{alone['id']}/restore").json()["folder_id"] == sub["id"]


def test_a_file_whose_folder_is_gone_is_restored_into_the_root(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("orphan")
    box = mkdir(user, "box")
    file = put(user, "inside.txt", b"inside", box["id"])
    assert user.client.delete(f"/api/files/{file['id']}").status_code == 204
    assert user.client.delete(f"/api/folders/{box['id']}").status_code == 204
    restored = user.client.post(f"/api/trash/{file['id']}/restore").json()
    assert restored["folder_id"] is None and entries(user) == [("file", "inside.txt")]


def test_emptying_the_trash_takes_deleted_folders_and_their_files(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("empty")
    box = mkdir(user, "box")
    for i in range(3):
        put(user, f"{i}.txt", b"x" * 100, box["id"])
    user.client.delete(f"/api/folders/{box['id']}")
    result = user.client.delete("/api/trash").json()
    assert result == {"deleted": 3, "more": False}
    wait_for(lambda: user.client.get("/api/trash/folders").json()["items"] == [], what="the folder to leave the trash")
    assert user.client.get("/api/stats").json()["quota"]["used_bytes"] == 0


def test_the_reconciler_purges_deleted_folders_after_the_retention(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("purgetree")
    top = mkdir(user, "top")
    sub = mkdir(user, "sub", top["id"])
    inside = put(user, "deep.txt", b"deep", sub["id"])
    user.client.delete(f"/api/folders/{top['id']}")
    later = int(time.time() * 1000) + 31 * DAY_MS

    def purged() -> bool:
        edgefiles.client.get("/__scheduled", params={"time": str(later)}).raise_for_status()
        return user.client.get("/api/trash/folders").json()["items"] == []

    wait_for(purged, timeout=120, interval=0, what="the deleted tree to be purged")
    edgefiles.reconcile_until_caught_up(at_ms=later)
    with closing(database(edgefiles.persist_to, "d1")) as d1:
        assert d1.execute("SELECT COUNT(*) FROM folders WHERE user_id = ?", [user.user_id]).fetchone()[0] == 0
        assert d1.execute("SELECT COUNT(*) FROM files WHERE id = ?", [inside["id"]]).fetchone()[0] == 0


def test_a_file_request_delivers_into_its_folder(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("inbox")
    inbox = mkdir(user, "inbox")
    request = user.client.post("/api/file-requests", json={"folder_id": inbox["id"]}).json()
    assert request["folder_id"] == inbox["id"]
    sent = users.anonymous().put(
        f"{request['url']}/files/scan.txt", content=b"scanned", headers={"content-type": "text/plain"}
    )
    assert sent.status_code == 201, sent.text
    assert entries(user, inbox["id"]) == [("file", "scan.txt")]
    # The owner deletes the folder: what arrives then lands in the root.
    user.client.delete(f"/api/folders/{inbox['id']}")
    again = users.anonymous().put(
        f"{request['url']}/files/later.txt", content=b"later", headers={"content-type": "text/plain"}
    )
    assert again.status_code == 201
    assert ("file", "later.txt") in entries(user)
    missing = "00000000-0000-4000-8000-000000000000"
    assert user.client.post("/api/file-requests", json={"folder_id": missing}).status_code == 409


def test_a_multipart_upload_lands_in_its_folder(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new("mpfolder")
    box = mkdir(user, "videos")
    size = 6 * 1024 * 1024
    body = os.urandom(size)
    plan = user.client.post(
        "/api/uploads",
        json={"filename": "clip.bin", "content_type": "application/octet-stream", "size": size, "folder_id": box["id"]},
    ).json()
    part = user.client.put(f"/api/uploads/{plan['upload_id']}/parts/1", content=body)
    assert part.status_code == 200, part.text
    done = user.client.post(f"/api/uploads/{plan['upload_id']}/complete")
    assert done.status_code == 201 and done.json()["folder_id"] == box["id"]
    assert entries(user, box["id"]) == [("file", "clip.bin")]


def test_a_restored_tree_that_would_nest_too_deep_goes_to_the_root(edgefiles: Runtime, users: UserFactory) -> None:
    """Found by an attack: a folder deleted, its old parent moved 31 levels down meanwhile; put
    back there, the tree would be 63 deep."""
    user = users.new("deeprestore")
    parent = mkdir(user, "P")
    deleted = mkdir(user, "A", parent["id"])
    below = deleted["id"]
    for depth in range(30):
        below = mkdir(user, f"a{depth}", below)["id"]
    assert user.client.delete(f"/api/folders/{deleted['id']}").status_code == 204
    chain = None
    for depth in range(31):
        chain = mkdir(user, f"q{depth}", chain)["id"]
    assert user.client.patch(f"/api/folders/{parent['id']}", json={"parent_id": chain}).status_code == 200
    restored = user.client.post(f"/api/trash/folders/{deleted['id']}/restore")
    assert restored.status_code == 200 and restored.json()["parent_id"] is None
    deepest = user.client.get(f"/api/folders/{below}").json()["path"]
    assert [step["name"] for step in deepest][:2] == ["A", "a0"] and len(deepest) == 31


def test_racing_moves_never_close_a_loop(edgefiles: Runtime, users: UserFactory) -> None:
    """Found by an attack: three chains of 16, each moved under the next one's bottom at the same
    moment, passed checks made before the writes and closed a 48-folder loop."""
    user = users.new("loop")
    chains = []
    for letter in "PXY":
        top = parent = None
        for depth in range(10):
            parent = mkdir(user, f"{letter}{depth}", parent)["id"]
            top = top or parent
        chains.append((top, parent))
    moves = [(chains[1][0], chains[0][1]), (chains[2][0], chains[1][1]), (chains[0][0], chains[2][1])]
    with ThreadPoolExecutor(3) as pool:
        statuses = list(
            pool.map(
                lambda move: user.client.patch(f"/api/folders/{move[0]}", json={"parent_id": move[1]}).status_code,
                moves,
            )
        )
    assert statuses.count(200) <= 2 and all(status in (200, 409) for status in statuses), statuses
    for top, _ in chains:  # every folder still reaches the root
        assert user.client.get(f"/api/folders/{top}").json()["path"][0]["id"] in {c[0] for c in chains}
    assert user.client.delete(f"/api/folders/{chains[0][0]}").status_code in (204, 404)

"""Names, paths and tree requests (pure), and migration 0007 on SQLite: the renaming of names
that were shared before folders made them unique, and the rules its triggers keep."""

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from edgefiles.domain import paths, tree_requests
from edgefiles.domain.problems import Problem

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@pytest.mark.parametrize("name", [".DS_Store", "a  b.txt", "Ünïcödé 文件", "x" * 255, "📁", "a.b.c"])
def test_usable_names_stand_as_given(name: str) -> None:
    assert paths.segment(name) == name


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "a/b", "a\\b", " x", "x ", "a\u202eb", "a\x00b", "a\u200bb", "x" * 256, "\ufeffx"],
)
def test_unusable_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        paths.segment(name)


def test_names_are_nfc() -> None:
    assert paths.segment("cafe\u0301") == "caf\u00e9"


def test_paths_split_into_checked_segments() -> None:
    assert paths.split("/reports/2026/q3.pdf") == ["reports", "2026", "q3.pdf"]
    assert paths.split("reports//2026/") == ["reports", "2026"]
    assert paths.split("/") == []
    with pytest.raises(ValueError):
        paths.split("/a/../b")
    with pytest.raises(ValueError):
        paths.split("/".join(["d"] * (paths.MAX_DEPTH + 2)))


@pytest.mark.parametrize(
    ("name", "n", "numbered"),
    [
        ("q3.pdf", 2, "q3 (2).pdf"),
        ("README", 3, "README (3)"),
        (".env", 2, ".env (2)"),
        ("x.tar.gz", 2, "x.tar (2).gz"),
        ("a." + "b" * 20, 2, "a." + "b" * 20 + " (2)"),
    ],
)
def test_numbered_alternatives(name: str, n: int, numbered: str) -> None:
    assert paths.numbered(name, n) == numbered


def test_numbered_names_stay_within_the_length_limit() -> None:
    long = "x" * 251 + ".pdf"
    assert len(paths.numbered(long, 12)) == 255 and paths.numbered(long, 12).endswith(" (12).pdf")


def test_first_free_skips_taken_alternatives() -> None:
    assert paths.first_free("a.txt", set()) == "a.txt"
    assert paths.first_free("a.txt", {"a.txt", "a (2).txt", "a (3).txt"}) == "a (4).txt"
    assert paths.numbered_prefix("a.txt") == "a ("


def test_tree_requests() -> None:
    assert tree_requests.new_folder({"name": "x"}) == tree_requests.NewFolder("x", "")
    folder = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert tree_requests.new_folder({"name": "x", "parent_id": folder}).parent_id == folder
    assert tree_requests.folder_id("root") == "" and tree_requests.api_folder_id("") is None
    assert tree_requests.change({"name": "y"}, name_field="name", parent_field="parent_id") == tree_requests.Change(
        "y", None
    )
    for bad in ({}, {"name": "a/b"}, {"nmae": "x"}, {"name": 1}, {"parent_id": "../x"}, {"parent_id": 5}):
        with pytest.raises(Problem) as refused:
            tree_requests.change(bad, name_field="name", parent_field="parent_id")
        assert refused.value.status == 400


_FOLDER = "INSERT INTO folders (id, user_id, parent_id, name, created_at, updated_at) VALUES (?, 'u', '', ?, '1', '1')"


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(":memory:")) as connection:
        yield connection


def _database(db: sqlite3.Connection) -> sqlite3.Connection:
    for migration in sorted(MIGRATIONS.glob("*.sql")):
        if migration.name >= "0007":
            break
        db.executescript(migration.read_text())
    return db


def _file(db: sqlite3.Connection, file_id: str, user: str, name: str, created: str, **extra: str) -> None:
    columns = {"id": file_id, "user_id": user, "filename": name, "r2_key": file_id, "content_type": "text/plain"}
    columns |= {"size_bytes": 1, "created_at": created, "updated_at": created, **extra}
    marks = ", ".join("?" for _ in columns)
    db.execute(f"INSERT INTO files ({', '.join(columns)}) VALUES ({marks})", list(columns.values()))  # noqa: S608


def test_migration_renames_all_but_the_newest_of_a_shared_name(db: sqlite3.Connection) -> None:
    _database(db)
    _file(db, "aaaaaaaa-1", "u", "q3.pdf", "2026-01-01")
    _file(db, "bbbbbbbb-2", "u", "q3.pdf", "2026-01-03")
    _file(db, "cccccccc-3", "u", "q3.pdf", "2026-01-02")
    _file(db, "dddddddd-4", "u", "README", "2026-01-01")
    _file(db, "eeeeeeee-5", "u", "README", "2026-01-02")
    _file(db, "ffffffff-6", "v", "q3.pdf", "2026-01-01")  # another user's
    _file(db, "gggggggg-7", "u", "q3.pdf", "2026-01-05", trashed_at="2026-02-01")  # in the trash: not counted
    _file(db, "hhhhhhhh-8", "u", "q3.pdf", "2026-01-06", deleted_at="2026-02-01")
    db.executescript((MIGRATIONS / "0007_folders.sql").read_text())
    names = dict(db.execute("SELECT id, filename FROM files"))
    assert names == {
        "aaaaaaaa-1": "q3 (aaaaaaaa).pdf",
        "bbbbbbbb-2": "q3.pdf",
        "cccccccc-3": "q3 (cccccccc).pdf",
        "dddddddd-4": "README (dddddddd)",
        "eeeeeeee-5": "README",
        "ffffffff-6": "q3.pdf",
        "gggggggg-7": "q3.pdf",
        "hhhhhhhh-8": "q3.pdf",
    }
    assert {row[0] for row in db.execute("SELECT folder_id FROM files")} == {""}


def test_the_schema_keeps_one_name_per_folder_and_nothing_in_a_deleted_folder(db: sqlite3.Connection) -> None:
    _database(db)
    db.executescript((MIGRATIONS / "0007_folders.sql").read_text())
    db.execute(_FOLDER, ["d", "docs"])
    _file(db, "f1", "u", "a.txt", "1")
    refused = [
        lambda: _file(db, "f2", "u", "a.txt", "1"),
        lambda: _file(db, "f3", "u", "docs", "1"),
        lambda: db.execute(_FOLDER, ["e", "a.txt"]),
        lambda: _file(db, "f4", "u", "b.txt", "1", folder_id="nope"),
        lambda: _file(db, "f5", "v", "b.txt", "1", folder_id="d"),  # someone else's folder
        lambda: db.execute("UPDATE files SET folder_id = 'nope' WHERE id = 'f1'"),
    ]
    for write in refused:
        with pytest.raises(sqlite3.IntegrityError):
            write()
    _file(db, "f6", "u", "a.txt", "1", folder_id="d")  # the same name in another folder
    db.execute("UPDATE folders SET trashed_at = '2', trashed_with = 'd' WHERE id = 'd'")
    with pytest.raises(sqlite3.IntegrityError):
        _file(db, "f7", "u", "c.txt", "1", folder_id="d")
    _file(db, "f8", "u", "docs", "1")  # the name is free while the folder is in the trash
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE folders SET trashed_at = NULL, trashed_with = NULL WHERE id = 'd'")

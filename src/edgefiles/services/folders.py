"""Folder rows in D1, and the names of a folder's entries.

The rules of the tree are kept by D1 (migrations/0007_folders.sql): one live name per folder
across files and folders, nothing put into a folder that is not live. A write that would break
them fails with a constraint error, told apart here (`NameTaken`, `NoSuchFolder`), so no check
made before a write can be outrun by another request.

Deleting a folder moves its whole live subtree, folders and files, to the trash in one
transaction, each row marked with the folder deleted (`trashed_with`); restoring it brings back
exactly those rows. Files keep counting against the quota in the trash, as a single file does.
"""

import json
from typing import Any

from edgefiles.domain import paths

_FOLDER = "SELECT id, parent_id, name, created_at, updated_at, trashed_at FROM folders"
_LISTED_FILE = "deleted_at IS NULL AND trashed_at IS NULL"
# Up from a folder to the root, at most MAX_DEPTH steps (the tree is never deeper).
_UP = (
    "WITH RECURSIVE up(id, parent_id, name, depth) AS ("  # noqa: S608 - constants only
    " SELECT id, parent_id, name, 0 FROM folders WHERE id = ? AND user_id = ? AND trashed_at IS NULL"
    " UNION ALL SELECT f.id, f.parent_id, f.name, up.depth + 1 FROM folders f JOIN up ON f.id = up.parent_id"
    f" WHERE up.depth < {paths.MAX_DEPTH + 1})"
)


# The folders from a destination (bound first) up to the root, each once (UNION: a loop ends).
_ANCESTORS = "WITH RECURSIVE up(id) AS (SELECT ? UNION SELECT f.parent_id FROM folders f JOIN up ON f.id = up.id)"
# How many levels of live folders a folder (bound first) holds below itself, walked at most
# MAX_DEPTH + 1 deep.
_HEIGHT = (
    "WITH RECURSIVE down(id, depth) AS (SELECT ?, 0 UNION ALL SELECT f.id, down.depth + 1 FROM folders f"  # noqa: S608
    f" JOIN down ON f.parent_id = down.id WHERE f.trashed_at IS NULL AND down.depth < {paths.MAX_DEPTH + 1})"
    " SELECT MAX(depth) FROM down"
)


class NameTaken(Exception):
    """Another live file or folder of the destination folder has this name."""


class NoSuchFolder(Exception):
    """The folder (or destination folder) is not a live folder of this user."""


def classify(error: BaseException) -> BaseException:
    """The D1 error of a write as NameTaken or NoSuchFolder when it is one of those."""
    message = str(error)
    if "UNIQUE constraint failed" in message:
        return NameTaken()
    if "FOREIGN KEY constraint failed" in message:
        return NoSuchFolder()
    return error


class FolderRecords:
    def __init__(self, db: Any) -> None:
        self._db = db

    async def create(self, user_id: str, row: dict[str, Any]) -> None:
        try:
            await (
                self._db.prepare(
                    "INSERT INTO folders (id, user_id, parent_id, name, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                )
                .bind(row["id"], user_id, row["parent_id"], row["name"], row["created_at"], row["created_at"])
                .run()
            )
        except Exception as error:
            raise classify(error) from None

    async def get(self, user_id: str, folder_id: str) -> dict[str, Any] | None:
        row = await (
            self._db.prepare(_FOLDER + " WHERE id = ? AND user_id = ? AND trashed_at IS NULL")
            .bind(folder_id, user_id)
            .first()
        )
        return None if row is None else dict(row)

    async def ancestry(self, user_id: str, folder_id: str) -> list[dict[str, str]] | None:
        """[{id, name}] from the top folder down to this one ([] for the root); None when the
        folder is not a live folder of this user."""
        if folder_id == paths.ROOT:
            return []
        result = await (
            self._db.prepare(_UP + " SELECT id, name FROM up ORDER BY depth DESC").bind(folder_id, user_id).all()  # noqa: S608 - constants only
        )
        rows = [dict(row) for row in result.results]
        return rows or None

    async def height(self, user_id: str, folder_id: str, *, trashed: bool = False) -> int:
        """How many levels of folders a folder holds below itself (0: none): its live ones, or
        with `trashed` the ones its deletion took."""
        below = "f.trashed_with = ?" if trashed else "f.trashed_at IS NULL AND ? IS NOT NULL"
        row = await (
            self._db.prepare(
                "WITH RECURSIVE down(id, depth) AS (SELECT id, 0 FROM folders WHERE id = ? AND user_id = ?"  # noqa: S608 - constants only
                " UNION ALL SELECT f.id, down.depth + 1 FROM folders f JOIN down ON f.parent_id = down.id"
                f" WHERE {below} AND down.depth < {paths.MAX_DEPTH + 1})"
                " SELECT MAX(depth) AS height FROM down"
            )
            .bind(folder_id, user_id, folder_id)
            .first()
        )
        return int(row["height"] or 0) if row else 0

    async def resolve(self, user_id: str, names: list[str]) -> list[dict[str, Any]]:
        """Walks a path of names from the root: the folders found along it, in order. The walk
        stops at the first name that is not a folder, so len(folders) says how far the path
        exists (the last name may then be a file: FileRecords.get_named)."""
        if not names:
            return []
        result = await (
            self._db.prepare(
                "WITH RECURSIVE walk(i, id) AS (SELECT 0, '' UNION ALL"
                " SELECT walk.i + 1, f.id FROM walk JOIN json_each(?) seg ON seg.key = walk.i"
                " JOIN folders f ON f.user_id = ? AND f.parent_id = walk.id AND f.name = seg.value"
                " AND f.trashed_at IS NULL)"
                " SELECT f.id, f.parent_id, f.name, f.created_at, f.updated_at, f.trashed_at FROM walk"
                " JOIN folders f ON f.id = walk.id ORDER BY walk.i"
            )
            .bind(json.dumps(names), user_id)
            .all()
        )
        return [dict(row) for row in result.results]

    async def folder_page(
        self, user_id: str, parent_id: str, after: tuple[str, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Live subfolders in (name, id) order after `after`."""
        where, params = " WHERE user_id = ? AND parent_id = ? AND trashed_at IS NULL", [user_id, parent_id]
        if after is not None:
            where += " AND (name, id) > (?, ?)"
            params += [after[0], after[1]]
        result = await self._db.prepare(_FOLDER + where + " ORDER BY name, id LIMIT ?").bind(*params, limit).all()
        return [dict(row) for row in result.results]

    async def taken_names(self, user_id: str, parent_id: str, prefix: str, limit: int = 1000) -> set[str]:
        """The live names in a folder that start with `prefix`, files and folders."""
        # Names from prefix up to (not including) prefix with its last character's successor.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        result = await (
            self._db.prepare(
                "SELECT filename AS name FROM files WHERE user_id = ? AND folder_id = ? AND filename >= ?"  # noqa: S608 - constants only
                " AND filename < ? AND " + _LISTED_FILE + " UNION ALL SELECT name FROM folders WHERE user_id = ?"
                " AND parent_id = ? AND name >= ? AND name < ? AND trashed_at IS NULL LIMIT ?"
            )
            .bind(user_id, parent_id, prefix, upper, user_id, parent_id, prefix, upper, limit)
            .all()
        )
        return {row["name"] for row in result.results}

    async def free_name(self, user_id: str, parent_id: str, name: str) -> str:
        """The first of name, "name (2)", "name (3)"... that no live entry of the folder has."""
        taken = await self.taken_names(user_id, parent_id, paths.numbered_prefix(name))
        taken |= await self.taken_names(user_id, parent_id, name)
        return paths.first_free(name, taken)

    async def retry_name(self, user_id: str, parent_id: str, name: str, entry_id: str, retry: int) -> str:
        """The name to try again with when `name` was taken: on the first retry its first free
        numbered form ("q3 (2).pdf"), after that one made unique by the entry's id (another
        request took the numbered one meanwhile)."""
        if retry <= 1:
            return await self.free_name(user_id, parent_id, name)
        return paths.numbered(name, entry_id[:8])

    async def update(self, user_id: str, folder_id: str, *, name: str, parent_id: str, now: str) -> bool:
        """Renames and/or moves a live folder. False when the move would put the folder inside
        itself, or its tree deeper than paths.MAX_DEPTH (or it is not live any more).

        Both checks are in the UPDATE itself: D1 runs statements one at a time, so concurrent
        moves each see the others' results (checks made before would let three moves close a
        loop). The walk up from the destination is unbounded but cannot loop: UNION keeps each
        folder once."""
        try:
            row = await (
                self._db.prepare(
                    "UPDATE folders SET name = ?, parent_id = ?, updated_at = ? WHERE id = ? AND user_id = ?"  # noqa: S608 - constants only
                    " AND trashed_at IS NULL"
                    " AND NOT EXISTS (" + _ANCESTORS + " SELECT 1 FROM up WHERE up.id = ?)"
                    " AND (" + _ANCESTORS + " SELECT COUNT(*) FROM up WHERE up.id <> '') + 1"
                    " + (" + _HEIGHT + f") <= {paths.MAX_DEPTH} RETURNING id"
                )
                .bind(name, parent_id, now, folder_id, user_id, parent_id, folder_id, parent_id, folder_id)
                .first()
            )
        except Exception as error:
            raise classify(error) from None
        return row is not None

    def trash_statements(self, user_id: str, folder_id: str, now: str) -> list[Any]:
        """The live subtree of a folder into the trash, folders first and then the files of
        those folders, marked with the folder deleted."""
        return [
            self._db.prepare(
                "WITH RECURSIVE sub(id) AS (SELECT id FROM folders WHERE id = ? AND user_id = ? AND trashed_at IS NULL"
                " UNION SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id WHERE f.trashed_at IS NULL)"
                " UPDATE folders SET trashed_at = ?, trashed_with = ?, updated_at = ? WHERE id IN (SELECT id FROM sub)"
                " RETURNING id"
            ).bind(folder_id, user_id, now, folder_id, now),
            self._db.prepare(
                "UPDATE files SET trashed_at = ?, trashed_with = ?, updated_at = ? WHERE user_id = ? AND "  # noqa: S608 - constants only
                + _LISTED_FILE
                + " AND folder_id IN (SELECT id FROM folders WHERE trashed_with = ?)"
            ).bind(now, folder_id, now, user_id, folder_id),
        ]

    async def trash(self, user_id: str, folder_id: str, now: str) -> int:
        """How many folders the deletion moved to the trash (0: no such live folder)."""
        folders, _ = await self._db.batch(self.trash_statements(user_id, folder_id, now))
        return len(folders.results)

    async def trashed_file_ids(self, user_id: str, folder_id: str, limit: int) -> list[str]:
        """Some of the files a folder's deletion took (whose cached metadata must go)."""
        result = await (
            self._db.prepare(
                "SELECT id FROM files WHERE trashed_with = ? AND user_id = ? AND deleted_at IS NULL LIMIT ?"
            )
            .bind(folder_id, user_id, limit)
            .all()
        )
        return [row["id"] for row in result.results]

    async def restore(self, user_id: str, folder_id: str, *, name: str, parent_id: str, now: str) -> bool:
        """Brings back what the folder's deletion took, the folder itself under `name` into
        `parent_id` (D1 refuses a parent that is not live)."""
        try:
            restored, _, _ = await self._db.batch(
                [
                    self._db.prepare(
                        "UPDATE folders SET trashed_at = NULL, trashed_with = NULL, updated_at = ?, name = ?,"
                        " parent_id = ? WHERE id = ? AND user_id = ? AND trashed_with = id RETURNING id"
                    ).bind(now, name, parent_id, folder_id, user_id),
                    self._db.prepare(
                        "UPDATE folders SET trashed_at = NULL, trashed_with = NULL, updated_at = ?"
                        " WHERE trashed_with = ? AND user_id = ? AND id <> ?"
                    ).bind(now, folder_id, user_id, folder_id),
                    self._db.prepare(
                        "UPDATE files SET trashed_at = NULL, trashed_with = NULL, updated_at = ?"
                        " WHERE trashed_with = ? AND user_id = ? AND deleted_at IS NULL"
                    ).bind(now, folder_id, user_id),
                ]
            )
        except Exception as error:
            raise classify(error) from None
        return bool(restored.results)

    async def trashed(self, user_id: str, folder_id: str) -> dict[str, Any] | None:
        """A folder this user deleted (the root of a deletion), still in the trash."""
        row = await (
            self._db.prepare(_FOLDER + " WHERE id = ? AND user_id = ? AND trashed_with = id")
            .bind(folder_id, user_id)
            .first()
        )
        return None if row is None else dict(row)

    async def trash_page(self, user_id: str, limit: int, after: tuple[str, str] | None) -> list[dict[str, Any]]:
        """The folders this user deleted, most recent first; `after` is (trashed_at, id)."""
        where, params = " WHERE user_id = ? AND trashed_with = id", [user_id]
        if after is not None:
            where += " AND (trashed_at, id) < (?, ?)"
            params += [after[0], after[1]]
        result = await (
            self._db.prepare(_FOLDER + where + " ORDER BY trashed_at DESC, id DESC LIMIT ?").bind(*params, limit).all()
        )
        return [dict(row) for row in result.results]

    async def drop_trashed(self, user_id: str) -> int:
        """Removes the user's trashed folders once none of their files is still stored (the
        files of the trash go first, in batches: api/trash.py)."""
        result = await (
            self._db.prepare(
                "DELETE FROM folders WHERE user_id = ? AND trashed_at IS NOT NULL AND NOT EXISTS"
                " (SELECT 1 FROM files WHERE files.folder_id = folders.id AND files.deleted_at IS NULL)"
            )
            .bind(user_id)
            .run()
        )
        return int(result.meta["changes"])

    async def drop_expired(self, before: str, limit: int) -> int:
        """Removes folders trashed before `before` that hold nothing any more (no stored file,
        no folder): the reconciler calls it each run, so a tree goes leaf by leaf."""
        result = await (
            self._db.prepare(
                "DELETE FROM folders WHERE id IN (SELECT id FROM folders WHERE trashed_at IS NOT NULL"
                " AND trashed_at < ? AND NOT EXISTS (SELECT 1 FROM files"
                " WHERE files.folder_id = folders.id AND files.deleted_at IS NULL)"
                " AND NOT EXISTS (SELECT 1 FROM folders c WHERE c.parent_id = folders.id) LIMIT ?)"
            )
            .bind(before, limit)
            .run()
        )
        return int(result.meta["changes"])

    async def drop(self, user_id: str, folder_ids: list[str]) -> None:
        """Removes folders just made whose making is undone (their files are deleted first)."""
        await (
            self._db.prepare("DELETE FROM folders WHERE user_id = ? AND id IN (SELECT value FROM json_each(?))")
            .bind(user_id, json.dumps(folder_ids))
            .run()
        )

    async def count(self, user_id: str) -> int:
        row = await (
            self._db.prepare("SELECT COUNT(*) AS n FROM folders WHERE user_id = ? AND trashed_at IS NULL")
            .bind(user_id)
            .first()
        )
        return int(row["n"]) if row else 0

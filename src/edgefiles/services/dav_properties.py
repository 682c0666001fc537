"""WebDAV dead properties in D1 (migration 0009), per file or folder of a user."""

import json
from typing import Any

from edgefiles.domain.dav import PropertyChange, PropertyName


def file_target(file_id: str) -> str:
    return f"file:{file_id}"


def folder_target(folder_id: str) -> str:
    return f"folder:{folder_id}"


class DeadProperties:
    def __init__(self, db: Any) -> None:
        self._db = db

    async def of(self, user_id: str, targets: list[str]) -> dict[str, dict[PropertyName, str]]:
        """{target: {(namespace, name): value}} for the targets named."""
        found: dict[str, dict[PropertyName, str]] = {target: {} for target in targets}
        if not targets:
            return found
        result = await (
            self._db.prepare(
                "SELECT target, namespace, name, value FROM dav_properties WHERE user_id = ?"
                " AND target IN (SELECT value FROM json_each(?))"
            )
            .bind(user_id, json.dumps(targets))
            .all()
        )
        for row in result.results:
            found[row["target"]][(row["namespace"], row["name"])] = row["value"]
        return found

    def change_statements(self, user_id: str, target: str, changes: list[PropertyChange]) -> list[Any]:
        """The statements that apply the changes in order (the last change of a name wins)."""
        final: dict[PropertyName, PropertyChange] = {}
        for change in changes:
            final[change.name] = change
        statements = []
        for (namespace, name), change in final.items():
            if change.remove:
                statements.append(
                    self._db.prepare(
                        "DELETE FROM dav_properties WHERE user_id = ? AND target = ? AND namespace = ? AND name = ?"
                    ).bind(user_id, target, namespace, name)
                )
            else:
                statements.append(
                    self._db.prepare(
                        "INSERT INTO dav_properties (user_id, target, namespace, name, value) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (user_id, target, namespace, name) DO UPDATE SET value = excluded.value"
                    ).bind(user_id, target, namespace, name, change.value)
                )
        return statements

    async def size(self, user_id: str, targets: list[str]) -> int:
        """Characters of the dead-property values of these targets, altogether."""
        if not targets:
            return 0
        row = await (
            self._db.prepare(
                "SELECT COALESCE(SUM(length(value)), 0) AS n FROM dav_properties WHERE user_id = ?"
                " AND target IN (SELECT value FROM json_each(?))"
            )
            .bind(user_id, json.dumps(targets))
            .first()
        )
        return int(row["n"]) if row else 0

    def copy_statement(self, user_id: str, source: str, destination: str) -> Any:
        return self._db.prepare(
            "INSERT OR REPLACE INTO dav_properties (user_id, target, namespace, name, value)"
            " SELECT user_id, ?, namespace, name, value FROM dav_properties WHERE user_id = ? AND target = ?"
        ).bind(destination, user_id, source)

    def drop_statement(self, user_id: str, target: str) -> Any:
        return self._db.prepare("DELETE FROM dav_properties WHERE user_id = ? AND target = ?").bind(user_id, target)

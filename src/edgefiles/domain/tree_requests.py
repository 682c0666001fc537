"""The bodies of requests that change the folder tree: creating a folder, and moving or renaming
a folder or a file. Folder ids come as the API shows them: a string id, or null / "root" for the
root (stored as '')."""

import re
from dataclasses import dataclass
from typing import Any

from edgefiles.domain import paths
from edgefiles.domain.problems import Problem

# What a folder id the API issued looks like (a UUID); anything else cannot name a folder.
_FOLDER_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


@dataclass(frozen=True)
class NewFolder:
    name: str
    parent_id: str


@dataclass(frozen=True)
class Change:
    """A rename (name set), a move (parent_id set), or both; None leaves that part as it is."""

    name: str | None
    parent_id: str | None


def folder_id(value: Any, field: str = "folder_id") -> str:
    """The stored id for an API folder id: '' for the root; 400 for what no folder can be."""
    if value is None or value == "root":
        return paths.ROOT
    if not isinstance(value, str) or not _FOLDER_ID.match(value):
        raise Problem(400, f"'{field}' must be a folder id, or null (or \"root\") for the root")
    return value


def api_folder_id(stored: str) -> str | None:
    """A stored folder id as the API shows it: null for the root."""
    return stored or None


def name(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise Problem(400, f"'{field}' must be a string")
    try:
        return paths.segment(value)
    except ValueError as error:
        raise Problem(400, f"'{field}': {error}") from None


def _known(data: dict[str, Any], names: set[str]) -> None:
    unknown = sorted(set(data) - names)
    if unknown:
        raise Problem(400, f"Unknown field(s): {', '.join(unknown[:5])}")


def new_folder(data: dict[str, Any]) -> NewFolder:
    _known(data, {"name", "parent_id"})
    if "name" not in data:
        raise Problem(400, "'name' is required")
    return NewFolder(name(data["name"], "name"), folder_id(data.get("parent_id"), "parent_id"))


def change(data: dict[str, Any], *, name_field: str, parent_field: str) -> Change:
    _known(data, {name_field, parent_field})
    if not data:
        raise Problem(400, f"Send '{name_field}', '{parent_field}' or both")
    new_name = name(data[name_field], name_field) if name_field in data else None
    parent = folder_id(data[parent_field], parent_field) if parent_field in data else None
    return Change(new_name, parent)

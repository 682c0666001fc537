"""D1 access shared by the record classes: a per-isolate prepared-statement cache, transactions
through DB.batch (one implicit transaction), and the schema check run once per isolate."""

import logging
from typing import Any

logger = logging.getLogger(__name__)

# Every file in migrations/, in order (tests/unit/test_schema.py keeps this list honest).
EXPECTED_MIGRATIONS = (
    "0001_files.sql",
    "0002_api_keys_and_uploads.sql",
    "0003_processing.sql",
    "0004_purge_deleted_text.sql",
    "0005_search_indexes_and_bounded_repair.sql",
    "0006_sharing_quotas_trash_audit.sql",
    "0007_folders.sql",
    "0008_tus.sql",
    "0009_webdav.sql",
)

# Statements are prepared once per isolate: prepare() is pure and bind() returns a new statement,
# so a prepared statement can be shared by every request the isolate serves.
_prepared: dict[str, Any] = {}
_schema_checked = False


class SchemaOutOfDate(RuntimeError):
    pass


class Database:
    def __init__(self, db: Any) -> None:
        self._db = db

    def prepare(self, sql: str) -> Any:
        statement = _prepared.get(sql)
        if statement is None:
            statement = _prepared[sql] = self._db.prepare(sql)
        return statement

    async def keyset_page(
        self,
        select: str,
        where: str,
        params: list[Any],
        order: tuple[str, str],
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[Any]:
        """Rows of `select` + `where` (params bound in order), newest first by `order` (the sort
        column and the id column), after `after` (the previous page's last (sort key, id))."""
        sort, key = order
        if after is not None:
            where += f" AND ({sort}, {key}) < (?, ?)"
            params = [*params, after[0], after[1]]
        statement = self.prepare(select + where + f" ORDER BY {sort} DESC, {key} DESC LIMIT ?")
        return (await statement.bind(*params, limit).all()).results

    async def batch(self, statements: list[Any]) -> list[Any]:
        """Runs the statements in one transaction: all of them or none."""
        return await self._db.batch(statements) if statements else []

    async def ensure_schema(self) -> None:
        """Fails, once per isolate until it passes, if D1 lacks a migration this code needs."""
        global _schema_checked  # noqa: PLW0603 - per-isolate state, by design
        if _schema_checked:
            return
        result = await self._db.prepare("SELECT name FROM d1_migrations").all()
        applied = {row["name"] for row in result.results}
        missing = [name for name in EXPECTED_MIGRATIONS if name not in applied]
        if missing:
            message = f"D1 schema is missing migrations {', '.join(missing)}: run `wrangler d1 migrations apply DB`"
            logger.error(message)
            raise SchemaOutOfDate(message)
        _schema_checked = True

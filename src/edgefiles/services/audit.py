"""The audit trail: security-relevant events per user in D1 (`audit_events`), newest first.

An event that records a change is written in the same D1 transaction as the change where the
change is a D1 write (a link created or revoked); an event about a read (a link used) is written
after the response, best effort."""

import json
import logging
from typing import Any

from edgefiles.domain.clock import now_iso

logger = logging.getLogger(__name__)
_REVOCABLE = frozenset({"share_links", "file_requests"})


class AuditTrail:
    def __init__(self, database: Any) -> None:
        self._db = database

    def statement(
        self,
        user_id: str,
        actor: str,
        action: str,
        target: str | None,
        detail: dict[str, Any] | None = None,
        request_id: str | None = None,
        when: tuple[str, str, str] | None = None,
    ) -> Any:
        """The insert of one event, for a batch. With `when` = (table, id, revoked_at), only if
        that row was revoked at that moment: by the statement before it in the same batch (a
        revoke of a row already revoked records nothing)."""
        values = (user_id, now_iso(), actor, action, target, json.dumps(detail or {}), request_id)
        insert = "INSERT INTO audit_events (user_id, at, actor, action, target, detail, request_id)"
        if when is None:
            return self._db.prepare(insert + " VALUES (?, ?, ?, ?, ?, ?, ?)").bind(*values)  # noqa: S608
        table, row_id, revoked_at = when
        if table not in _REVOCABLE:
            raise ValueError(f"not a revocable table: {table}")
        # `table` is one of _REVOCABLE, never input.
        condition = " SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM " + table  # noqa: S608
        condition += " WHERE id = ? AND revoked_at = ?)"
        return self._db.prepare(insert + condition).bind(*values, row_id, revoked_at)

    async def record(self, user_id: str, actor: str, action: str, target: str | None, **kwargs: Any) -> None:
        """Writes one event; a failure is logged, never raised (the action has happened)."""
        try:
            await self.statement(user_id, actor, action, target, **kwargs).run()
        except Exception as error:
            logger.error("audit event %s for %s not written: %s", action, user_id, error)

    async def page(self, user_id: str, limit: int, before: int | None) -> list[dict[str, Any]]:
        where = "user_id = ?" + ("" if before is None else " AND seq < ?")
        params = [user_id] if before is None else [user_id, before]
        result = (
            await self._db.prepare(
                "SELECT seq, at, actor, action, target, detail, request_id FROM audit_events WHERE "  # noqa: S608
                + where
                + " ORDER BY seq DESC LIMIT ?"
            )
            .bind(*params, limit)
            .all()
        )
        events = []
        for row in result.results:
            event = dict(row)
            event["detail"] = json.loads(event["detail"]) if event["detail"] else {}
            events.append(event)
        return events

"""Background work handed to the queue consumer (src/queue_consumers)."""

from typing import Any

FILE_UPLOADED = "file_uploaded"


class JobQueue:
    def __init__(self, queue: Any) -> None:
        self._queue = queue

    async def file_uploaded(self, file_id: str, user_id: str) -> None:
        await self._queue.send({"type": FILE_UPLOADED, "file_id": file_id, "user_id": user_id})

    async def files_uploaded(self, files: list[tuple[str, str]]) -> None:
        """Enqueues (file_id, user_id) pairs in one call (at most 100, the Queues batch limit)."""
        messages = [
            {"body": {"type": FILE_UPLOADED, "file_id": file_id, "user_id": user_id}} for file_id, user_id in files
        ]
        await self._queue.sendBatch(messages)

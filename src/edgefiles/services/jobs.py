"""Background work handed to the queue consumer (src/queue_consumers)."""

from typing import Any

FILE_UPLOADED = "file_uploaded"


class JobQueue:
    def __init__(self, queue: Any) -> None:
        self._queue = queue

    async def file_uploaded(self, file_id: str, user_id: str) -> None:
        await self._queue.send({"type": FILE_UPLOADED, "file_id": file_id, "user_id": user_id})

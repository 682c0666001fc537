"""File bytes in R2. Bodies are handed over as JS streams; Python never reads them."""

from typing import Any
from urllib.parse import quote


class FileStorage:
    def __init__(self, bucket: Any) -> None:
        self._bucket = bucket

    async def put_stream(self, key: str, body: Any, *, content_type: str, filename: str, user_id: str) -> Any:
        # `body` is the request's JS ReadableStream: R2 accepts it because the request had a
        # Content-Length, and the bytes go from the socket to R2 without entering Python.
        return await self._bucket.put(
            key,
            body,
            {
                "httpMetadata": {
                    "contentType": content_type,
                    "contentDisposition": _attachment(filename),
                    "cacheControl": "private, max-age=0, must-revalidate",
                },
                "customMetadata": {"uploadedBy": user_id, "originalName": filename},
            },
        )

    async def get(self, key: str) -> Any:
        return await self._bucket.get(key)

    async def read_text(self, key: str, limit: int) -> str | None:
        obj = await self._bucket.get(key, {"range": {"offset": 0, "length": limit}})
        return None if obj is None else await obj.text()

    async def delete(self, key: str) -> None:
        await self._bucket.delete(key)


def _attachment(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"

"""File bytes in R2. Bodies are handed over as JS streams or Blobs; Python never reads them
(except the few bytes content sniffing needs, see streams.py)."""

from typing import Any
from urllib.parse import quote

from edgefiles.domain.ranges import ByteRange

R2_DELETE_LIMIT = 1000  # keys per R2 delete() call


def content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _http_metadata(content_type: str, filename: str) -> dict[str, str]:
    return {
        "contentType": content_type,
        "contentDisposition": content_disposition(filename),
        "cacheControl": "private, max-age=0, must-revalidate",
    }


class FileStorage:
    def __init__(self, bucket: Any) -> None:
        self._bucket = bucket

    async def put(
        self,
        key: str,
        body: Any,
        *,
        content_type: str,
        filename: str,
        user_id: str,
        sha256: str | None = None,
        md5: str | None = None,
    ) -> Any:
        """`body` must have a known length (a request body with Content-Length, a Blob, or a
        FixedLengthStream), as R2 requires. With `sha256`, R2 itself verifies the bytes."""
        custom = {"uploadedBy": user_id, "originalName": filename}
        options: dict[str, Any] = {"httpMetadata": _http_metadata(content_type, filename), "customMetadata": custom}
        if sha256:
            options["sha256"] = sha256
            custom["sha256"] = sha256
        if md5:
            options["md5"] = md5
        return await self._bucket.put(key, body, options)

    async def get(self, key: str, *, byte_range: ByteRange | None = None, conditions: Any = None) -> Any:
        """The object (with a body) or None. When `conditions` (request headers) do not hold, R2
        answers with the object's metadata and no body."""
        options: dict[str, Any] = {}
        if byte_range is not None:
            options["range"] = {"offset": byte_range.start, "length": byte_range.length}
        if conditions is not None:
            options["onlyIf"] = conditions
        return await self._bucket.get(key, options)

    async def head(self, key: str) -> Any:
        return await self._bucket.head(key)

    async def read_text(self, key: str, limit: int, size: int) -> str | None:
        """The first `limit` bytes of an object of `size` bytes as text; None if it is gone."""
        if size == 0:
            # A range on an empty object is not satisfiable (R2 answers it with an error).
            return "" if await self._bucket.head(key) is not None else None
        obj = await self._bucket.get(key, {"range": {"offset": 0, "length": min(limit, size)}})
        return None if obj is None else await obj.text()

    async def delete(self, key: str) -> None:
        await self._bucket.delete(key)

    async def delete_many(self, keys: list[str]) -> None:
        for start in range(0, len(keys), R2_DELETE_LIMIT):
            await self._bucket.delete(keys[start : start + R2_DELETE_LIMIT])

    async def list_after(
        self, prefix: str, start_after: str, limit: int = 1000
    ) -> tuple[list[tuple[str, float]], bool]:
        """Up to `limit` objects under `prefix` whose keys sort after `start_after`, in key order:
        [(key, uploaded in ms since the epoch)], and whether more follow."""
        options: dict[str, Any] = {"prefix": prefix, "limit": limit}
        if start_after:
            options["startAfter"] = start_after
        listed = await self._bucket.list(options)
        return [(obj.key, obj.uploaded.getTime()) for obj in listed["objects"]], bool(listed["truncated"])

    async def next_prefix(self, parent: str, start_after: str) -> str | None:
        """The first `<parent><segment>/` prefix sorting after `start_after` (one list call with
        a delimiter), or None."""
        options: dict[str, Any] = {"prefix": parent, "delimiter": "/", "limit": 1}
        if start_after:
            options["startAfter"] = start_after
        listed = await self._bucket.list(options)
        prefixes = list(listed["delimitedPrefixes"] or [])
        return prefixes[0] if prefixes else None

    async def put_segment(self, key: str, body: Any) -> None:
        """A temporary object (a tus upload's bytes waiting for their part)."""
        await self._bucket.put(key, body)

    async def create_multipart(self, key: str, *, content_type: str, filename: str, user_id: str) -> str:
        upload = await self._bucket.createMultipartUpload(
            key,
            {
                "httpMetadata": _http_metadata(content_type, filename),
                "customMetadata": {"uploadedBy": user_id, "originalName": filename},
            },
        )
        return upload.uploadId

    async def upload_part(self, key: str, upload_id: str, part_number: int, body: Any) -> str:
        uploaded = await self._bucket.resumeMultipartUpload(key, upload_id).uploadPart(part_number, body)
        return uploaded["etag"]

    async def complete_multipart(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> Any:
        return await self._bucket.resumeMultipartUpload(key, upload_id).complete(parts)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        await self._bucket.resumeMultipartUpload(key, upload_id).abort()

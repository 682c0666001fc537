"""The file routes of the first cut: raw upload, metadata, content, stats.

The caller is a single local user until API keys arrive (issue 3); every read and write is
already scoped to a user id so that change is a matter of where the id comes from.
"""

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from workers import Response

from edgefiles.api.responses import json_response
from edgefiles.domain.files import base_content_type, cache_key, clean_filename, object_key, parse_content_length
from edgefiles.domain.problems import Problem, unavailable
from edgefiles.services.cache import MetadataCache
from edgefiles.services.jobs import JobQueue
from edgefiles.services.metadata import FileRecords
from edgefiles.services.stats import UserStatsClient
from edgefiles.services.storage import FileStorage

logger = logging.getLogger(__name__)

LOCAL_USER = "local"
_PUBLIC_FIELDS = ("id", "filename", "content_type", "size_bytes", "status", "description", "ai_analysis", "created_at")


class FileService:
    """Everything the file routes need, built once per request from `env`."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.storage = FileStorage(env.STORAGE)
        self.records = FileRecords(env.DB)
        self.cache = MetadataCache(env.CACHE, int(env.CACHE_TTL_SECONDS))
        self.jobs = JobQueue(env.QUEUE)
        self.stats = UserStatsClient(env.USER_STATS)
        self.max_size = int(env.MAX_FILE_SIZE)
        self.allowed_types = {t.strip() for t in env.ALLOWED_CONTENT_TYPES.split(",")}


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    view = {name: row.get(name) for name in _PUBLIC_FIELDS}
    view["links"] = {"self": f"/api/files/{row['id']}", "content": f"/api/files/{row['id']}/content"}
    return view


async def upload_raw(service: FileService, request: Any, filename: str) -> Response:
    try:
        name = clean_filename(unquote(filename))
    except ValueError as error:
        raise Problem(400, str(error)) from None
    try:
        size = parse_content_length(request.headers.get("content-length"), service.max_size)
    except LookupError as error:
        raise Problem(411, str(error)) from None
    except ValueError as error:
        raise Problem(400, str(error)) from None
    except OverflowError as error:
        raise Problem(413, str(error)) from None
    content_type = base_content_type(request.headers.get("content-type"))
    if content_type not in service.allowed_types:
        raise Problem(415, f"{content_type} is not an accepted content type")

    file_id = str(uuid.uuid4())
    key = object_key(LOCAL_USER, file_id)
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    try:
        await service.storage.put_stream(
            key, request.body, content_type=content_type, filename=name, user_id=LOCAL_USER
        )
    except Exception:
        logger.exception("R2 put failed for %s", key)
        raise unavailable("Storage") from None
    row = {
        "id": file_id,
        "user_id": LOCAL_USER,
        "filename": name,
        "r2_key": key,
        "content_type": content_type,
        "size_bytes": size,
        "status": "pending",
        "created_at": now,
    }
    try:
        await service.records.insert(row)
    except Exception:
        logger.exception("D1 insert failed for %s; removing the stored object", file_id)
        await service.storage.delete(key)
        raise unavailable("The metadata store") from None

    # The row is the record of truth: a failure below leaves it `pending`, which the
    # reconciler re-enqueues, and stats are re-derived from D1.
    results = await asyncio.gather(
        service.cache.put(cache_key(LOCAL_USER, file_id), row),
        service.jobs.file_uploaded(file_id, LOCAL_USER),
        service.stats.record_upload(LOCAL_USER, file_id, size, content_type),
        return_exceptions=True,
    )
    for step, result in zip(("cache put", "queue send", "stats"), results, strict=True):
        if isinstance(result, BaseException):
            logger.warning("upload %s: %s failed (%s); left for the reconciler", file_id, step, result)
    view = public_view(row)
    return json_response(view, 201, {"location": view["links"]["self"]})


async def get_metadata(service: FileService, file_id: str) -> Response:
    key = cache_key(LOCAL_USER, file_id)
    row = await service.cache.get(key)
    if row is None:
        row = await service.records.get(LOCAL_USER, file_id)
        if row is None:
            raise Problem(404, "No such file")
        await service.cache.put(key, row)
    return json_response(public_view(row))


async def get_content(service: FileService, file_id: str) -> Response:
    row = await service.records.get(LOCAL_USER, file_id)
    obj = None if row is None else await service.storage.get(row["r2_key"])
    if obj is None:
        raise Problem(404, "No such file")
    headers = {
        "content-type": row["content_type"],
        "content-length": str(obj.size),
        "etag": obj.httpEtag,
    }
    # R2's body stream becomes the response body directly: no bytes pass through Python.
    return Response(obj.body, headers=headers)


async def get_stats(service: FileService) -> Response:
    return json_response(await service.stats.stats(LOCAL_USER))

"""/api/limits: what this deployment accepts, so a client (the web app) can pick a single request
or a multipart upload and offer only valid link lifetimes without hard-coding the configuration."""

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.responses import json_response
from edgefiles.api.uploads import MAX_MULTIPART_FILE_SIZE
from edgefiles.domain.sharing import MAX_RECORD_SECONDS
from edgefiles.domain.validation import MIN_LINK_SECONDS


async def get_limits(ctx: RequestContext) -> Response:
    settings = ctx.services.settings
    return json_response(
        {
            "max_file_size": settings.max_file_size,
            "max_form_file_size": settings.max_form_file_size,
            "max_multipart_file_size": MAX_MULTIPART_FILE_SIZE,
            "allowed_content_types": sorted(settings.allowed_types),
            "link_lifetime_seconds": {"min": MIN_LINK_SECONDS, "max": MAX_RECORD_SECONDS},
            "trash_retention_days": settings.trash_retention_days,
        }
    )

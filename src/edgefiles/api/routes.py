"""The route table, as data: method, path pattern, handler ("module.function" in edgefiles.api or
"app.function") and who may call it. Kept free of runtime imports so a CPython test can compare
it with the OpenAPI document."""

from edgefiles.api.routing import ADMIN, PUBLIC, USER

ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/health", "app.health", PUBLIC),
    ("GET", "/openapi.json", "app.openapi", PUBLIC),
    ("POST", "/api/admin/keys", "admin.create_key", ADMIN),
    ("DELETE", "/api/admin/keys/{prefix}", "admin.revoke_key", ADMIN),
    ("GET", "/api/files", "files.list_files", USER),
    ("POST", "/api/files", "files.upload_form", USER),
    ("PUT", "/api/files/{filename}", "files.upload_raw", USER),
    ("GET", "/api/files/{file_id}", "files.get_metadata", USER),
    ("DELETE", "/api/files/{file_id}", "files.delete_file", USER),
    ("GET", "/api/files/{file_id}/content", "files.get_content", USER),
    ("POST", "/api/files/{file_id}/links", "files.create_link", USER),
    ("POST", "/api/uploads", "uploads.create_upload", USER),
    ("GET", "/api/uploads/{upload_id}", "uploads.get_upload", USER),
    ("DELETE", "/api/uploads/{upload_id}", "uploads.abort_upload", USER),
    ("PUT", "/api/uploads/{upload_id}/parts/{part}", "uploads.upload_part", USER),
    ("POST", "/api/uploads/{upload_id}/complete", "uploads.complete_upload", USER),
    ("GET", "/api/files/{file_id}/summary", "files.get_summary", USER),
    ("GET", "/api/search", "search.search", USER),
    ("GET", "/api/stats", "stats.get_stats", USER),
    ("POST", "/api/events/tickets", "events.create_ticket", USER),
    ("GET", "/api/events", "events.open_events", PUBLIC),
    ("GET", "/api/limits", "limits.get_limits", USER),
    ("GET", "/d/{token}", "links.download", PUBLIC),
)

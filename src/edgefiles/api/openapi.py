"""The OpenAPI 3.1 description of every route, served at /openapi.json.

`openapi.json` at the repository root is this document, written by `make openapi`; a test keeps
the two, and the router's routes, in step.
"""

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problems(*statuses: int) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": _ref("Problem")}}
    return {str(status): {"description": "Problem details (RFC 9457)", "content": problem} for status in statuses}


def _rate_limited(description: str) -> dict[str, Any]:
    """A 429 problem: a rate limit (or the daily AI budget) says when to come back."""
    return {
        "429": {
            "description": description,
            "headers": {
                "Retry-After": {
                    "description": "Seconds until a request may succeed",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
    }


def _quota_problems() -> dict[str, Any]:
    """413 of an upload: over a size limit, or the quota (title "Quota exceeded") with its usage."""
    return {
        "413": {
            "description": "Problem details (RFC 9457): the file is over a size limit, or (title"
            " `Quota exceeded`) the caller's quota has no room for it",
            "content": {"application/problem+json": {"schema": _ref("QuotaProblem")}},
        }
    }


_UPLOAD_RATE_LIMITED = _rate_limited("Too many uploads begun in the last minute (Retry-After)")
_PAGE = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    {"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": {"type": "string"}},
]
_AUDIT_PAGE = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
    {
        "name": "cursor",
        "in": "query",
        "description": "next_cursor of the previous page (a decimal seq: events before it)",
        "schema": {"type": "string", "pattern": "^[0-9]{1,15}$"},
    },
]
# Share links and file requests are named by random URL-safe ids (domain/identifiers.py).
_RECORD_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}
_LINK_ID = {"name": "link_id", "in": "path", "required": True, "schema": _RECORD_ID}
_REQUEST_ID = {"name": "request_id", "in": "path", "required": True, "schema": _RECORD_ID}
_USER_ID = {
    "name": "user_id",
    "in": "path",
    "required": True,
    "description": "Any other value is answered 404",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"},
}
_TOKEN = {
    "name": "token",
    "in": "path",
    "required": True,
    "description": "The signed token of the URL the owner shared",
    "schema": {"type": "string"},
}
_ADMIN = [{"adminToken": []}]
_HTML = {"text/html": {"schema": {"type": "string"}}}
# Who creates a share link or a file request: the records' common limits (domain/sharing.py).
_MAX_RECORD_SECONDS = 90 * 24 * 3600
_PASSWORD = {
    "type": "string",
    "minLength": 8,
    "maxLength": 256,
    "description": "Asked of whoever uses the URL; stored only as a salted hash. No control characters,"
    " no spaces at either end (a header could not carry them)",
}
_LABEL = {
    "type": "string",
    "maxLength": 200,
    "description": "The owner's note, kept as it reads (controls and invisible characters removed); blank is none",
}
_STATE = {
    "type": "string",
    "enum": ["active", "expired", "exhausted", "revoked"],
    "description": "`exhausted`: its limit is reached",
}
_LINK_STATE = {
    "type": "string",
    "enum": ["active", "expired", "exhausted", "revoked", "file_trashed", "file_deleted"],
    "description": "What the link does if used now: `active` serves; `exhausted`: its download limit is"
    " reached; `file_trashed`: its file is in the trash (it serves again once restored); `file_deleted`: never",
}
_USAGE_PROPERTIES = {
    "quota_bytes": {"type": "integer", "minimum": 0},
    "quota_files": {"type": "integer", "minimum": 0},
    "used_bytes": {"type": "integer", "minimum": 0, "description": "Stored files, the trash included"},
    "used_files": {"type": "integer", "minimum": 0},
    "reserved_bytes": {"type": "integer", "minimum": 0, "description": "Held by uploads in progress"},
    "reserved_files": {"type": "integer", "minimum": 0},
    "remaining_bytes": {"type": "integer", "minimum": 0},
    "remaining_files": {"type": "integer", "minimum": 0},
    "ai_daily_calls": {"type": "integer", "minimum": 0, "description": "Workers AI calls allowed a day (UTC)"},
}
_QUOTA_LIMITS = {
    "max_bytes": (10**15, "Bytes the user may store"),
    "max_files": (10**9, "Files the user may store"),
    "ai_daily_calls": (10**7, "Workers AI calls a day"),
}


def _download_responses(*, form: bool) -> dict[str, Any]:
    """A share link's answers: the file's as GET /api/files/{file_id}/content, and the link's."""
    responses = _content_responses()
    responses["401"] = {
        "description": "A password is needed or was wrong: problem details, or the password form"
        " (text/html) for a browser (Accept: text/html, or the form's own POST)",
        "content": {"application/problem+json": {"schema": _ref("Problem")}, **_HTML},
    }
    responses["403"]["description"] = "Problem details (RFC 9457): the token is not valid or has expired"
    responses.update(_problems(410))
    responses["410"]["description"] = "Problem details (RFC 9457): the link was revoked or its download limit reached"
    if form:
        responses.update(_problems(413))
    responses.update(_rate_limited("Too many wrong passwords for this link in the last minute (Retry-After)"))
    return dict(sorted(responses.items()))


_BYTES = {"description": "The file's bytes", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
# PUT /api/files/{filename} and GET /api/files/{file_id} share a path template, and OpenAPI allows
# one path item per template: its parameter is the name for PUT and the id for GET and DELETE.
_FILE = {
    "name": "file",
    "in": "path",
    "required": True,
    "description": "PUT: the file's name; GET, DELETE: the file's id",
    "schema": {"type": "string"},
}
_FILE_ID = {"name": "file_id", "in": "path", "required": True, "schema": {"type": "string"}}
_UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TUS_BODY = "application/offset+octet-stream"
_DECIMAL_HEADER = {"type": "string", "pattern": "^[0-9]{1,16}$"}
_TUS_RESUMABLE = {
    "name": "Tus-Resumable",
    "in": "header",
    "description": "Required for tus 1.0; the IETF draft's interop versions send Upload-Draft-Interop-Version"
    " (5 or 6) instead",
    "schema": {"enum": ["1.0.0"]},
}
_TUS_PROGRESS = {
    "Upload-Offset": {"description": "Bytes received", "schema": {"type": "integer"}},
    "Upload-Expires": {"description": "Until when it may be resumed", "schema": {"type": "string"}},
}
_TUS_CAPABILITIES = {
    name: {"schema": {"type": "string"}}
    for name in ("Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm")
}
_AUTH_PROBLEMS = (400, 401, 404, 405, 503)
_FOLDER_REF = {
    "type": ["string", "null"],
    "description": 'A folder id; null or "root" for the root',
}
_FOLDER_ID = {
    "name": "folder_id",
    "in": "path",
    "required": True,
    "description": "A folder id, or `root`",
    "schema": {"type": "string"},
}
_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "description": "One name: no '/', '\\', '.' or '..'"}
_CONTENT_HEADERS = [
    {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
]


def _content_responses() -> dict[str, Any]:
    return {
        "200": _BYTES,
        "206": {"description": "The requested byte range", "content": _BYTES["content"]},
        "304": {"description": "Not modified"},
        **_problems(*_AUTH_PROBLEMS, 403, 412, 416),
    }


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "edgefiles",
        "version": "1.0.0",
        "description": "Files on Cloudflare Python Workers. Every error is RFC 9457 problem details.",
    },
    "components": {
        "securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "A user's API key (ef_...)"},
            "adminToken": {"type": "http", "scheme": "bearer", "description": "The deployment's ADMIN_TOKEN"},
        },
        "schemas": {
            "Problem": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
            },
            "QuotaProblem": {
                "allOf": [_ref("Problem")],
                "description": "With title `Quota exceeded`, the caller's usage as extension members",
                "properties": {
                    name: _USAGE_PROPERTIES[name]
                    for name in (
                        "quota_bytes",
                        "used_bytes",
                        "reserved_bytes",
                        "remaining_bytes",
                        "quota_files",
                        "remaining_files",
                    )
                },
            },
            "Links": {
                "type": "object",
                "required": ["self", "content"],
                "properties": {"self": {"type": "string"}, "content": {"type": "string"}},
            },
            "File": {
                "type": "object",
                "required": ["id", "filename", "content_type", "size_bytes", "status", "created_at", "links"],
                "properties": {
                    "id": {"type": "string"},
                    "filename": {"type": "string"},
                    "content_type": {"type": "string"},
                    "size_bytes": {"type": "integer", "minimum": 0},
                    "sha256": {"type": ["string", "null"]},
                    "status": {"enum": ["pending", "completed", "failed"]},
                    "description": {"type": ["string", "null"]},
                    "ai_analysis": {"type": ["object", "null"]},
                    "created_at": {"type": "string"},
                    "updated_at": {"type": "string"},
                    "content": {"type": "string"},
                    "file_request_id": {
                        "type": ["string", "null"],
                        "description": "The file request it arrived through; null when its owner uploaded it",
                    },
                    "folder_id": {"type": ["string", "null"], "description": "Its folder; null for the root"},
                    "links": _ref("Links"),
                },
            },
            "FileList": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": _ref("File")},
                    "next_cursor": {"type": ["string", "null"]},
                },
            },
            "NewUpload": {
                "type": "object",
                "required": ["filename", "content_type", "size"],
                "properties": {
                    "filename": {"type": "string"},
                    "content_type": {"type": "string"},
                    "size": {"type": "integer", "minimum": 1},
                    "description": {"type": "string"},
                    "folder_id": _FOLDER_REF,
                },
            },
            "Folder": {
                "type": "object",
                "required": ["id", "name", "parent_id", "created_at", "updated_at", "links"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "parent_id": {"type": ["string", "null"], "description": "null: in the root"},
                    "created_at": {"type": "string"},
                    "updated_at": {"type": "string"},
                    "links": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "FolderWithPath": {
                "allOf": [_ref("Folder")],
                "required": ["path"],
                "properties": {
                    "path": {
                        "type": "array",
                        "description": "The folders from the top down to this one (breadcrumbs); [] for the root",
                        "items": {
                            "type": "object",
                            "required": ["id", "name"],
                            "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                        },
                    }
                },
            },
            "Entries": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {
                        "type": "array",
                        "description": "Folders first, then files, each by name",
                        "items": {
                            "type": "object",
                            "required": ["kind"],
                            "properties": {"kind": {"enum": ["folder", "file"]}},
                            "oneOf": [_ref("Folder"), _ref("File")],
                        },
                    },
                    "next_cursor": {"type": ["string", "null"]},
                },
            },
            "TrashedFolder": {
                "allOf": [_ref("Folder")],
                "required": ["trashed_at", "purge_after"],
                "properties": {"trashed_at": {"type": "string"}, "purge_after": {"type": "string"}},
            },
            "TrashedFolderList": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": _ref("TrashedFolder")},
                    "next_cursor": {"type": ["string", "null"]},
                },
            },
            "UploadPlan": {
                "type": "object",
                "required": ["upload_id", "part_size", "part_count"],
                "properties": {
                    "upload_id": {"type": "string"},
                    "part_size": {"type": "integer"},
                    "part_count": {"type": "integer"},
                },
            },
            "UploadState": {
                "type": "object",
                "required": ["upload_id", "part_size", "part_count", "parts_received", "parts_missing"],
                "properties": {
                    "upload_id": {"type": "string"},
                    "filename": {"type": "string"},
                    "content_type": {"type": "string"},
                    "size": {"type": "integer"},
                    "part_size": {"type": "integer"},
                    "part_count": {"type": "integer"},
                    "parts_received": {"type": "array", "items": {"type": "integer"}},
                    "parts_missing": {"type": "array", "items": {"type": "integer"}},
                },
            },
            "Part": {
                "type": "object",
                "required": ["part", "etag"],
                "properties": {"part": {"type": "integer"}, "etag": {"type": "string"}},
            },
            "DownloadUrl": {
                "type": "object",
                "required": ["url", "expires_at"],
                "properties": {
                    "url": {"type": "string", "description": "/d/{token}, valid for a minute"},
                    "expires_at": {"type": "string"},
                },
            },
            "ShareLink": {
                "type": "object",
                "required": [
                    "id",
                    "file_id",
                    "filename",
                    "label",
                    "url",
                    "expires_at",
                    "created_at",
                    "password_protected",
                    "max_downloads",
                    "downloads",
                    "last_used_at",
                    "state",
                ],
                "properties": {
                    "id": {"type": "string"},
                    "file_id": {"type": "string"},
                    "filename": {"type": ["string", "null"]},
                    "label": {"type": ["string", "null"]},
                    "url": {"type": "string", "description": "/d/{token}: the URL to share (no API key needed)"},
                    "expires_at": {"type": "string"},
                    "created_at": {"type": "string"},
                    "password_protected": {"type": "boolean"},
                    "max_downloads": {"type": ["integer", "null"], "minimum": 1},
                    "downloads": {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "description": "null while the count is unavailable",
                    },
                    "last_used_at": {"type": ["string", "null"]},
                    "state": _LINK_STATE,
                },
            },
            "ShareLinkList": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": _ref("ShareLink")},
                    "next_cursor": {"type": ["string", "null"]},
                },
            },
            "FileRequest": {
                "type": "object",
                "required": [
                    "id",
                    "label",
                    "url",
                    "expires_at",
                    "created_at",
                    "password_protected",
                    "max_files",
                    "max_file_size",
                    "allowed_types",
                    "files_received",
                    "files",
                    "state",
                ],
                "properties": {
                    "id": {"type": "string"},
                    "label": {"type": ["string", "null"]},
                    "url": {"type": "string", "description": "/r/{token}: the URL to share (no API key needed)"},
                    "expires_at": {"type": "string"},
                    "created_at": {"type": "string"},
                    "password_protected": {"type": "boolean"},
                    "max_files": {"type": ["integer", "null"], "minimum": 1},
                    "max_file_size": {"type": "integer", "minimum": 1},
                    "allowed_types": {"type": "array", "items": {"type": "string"}},
                    "files_received": {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "description": "null while the count is unavailable",
                    },
                    "files": {"type": "string", "description": "Where to list the files received"},
                    "state": _STATE,
                },
            },
            "FileRequestList": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": _ref("FileRequest")},
                    "next_cursor": {"type": ["string", "null"]},
                },
            },
            "FileRequestInfo": {
                "type": "object",
                "required": ["label", "allowed_types", "max_file_size", "expires_at", "password_required", "upload"],
                "properties": {
                    "label": {"type": ["string", "null"]},
                    "allowed_types": {"type": "array", "items": {"type": "string"}},
                    "max_file_size": {"type": "integer"},
                    "expires_at": {"type": "string"},
                    "password_required": {"type": "boolean"},
                    "upload": {"type": "string", "description": "How to send a file"},
                },
            },
            "ReceivedFile": {
                "type": "object",
                "required": ["filename", "content_type", "size_bytes", "received_at"],
                "properties": {
                    "filename": {"type": "string"},
                    "content_type": {"type": "string"},
                    "size_bytes": {"type": "integer", "minimum": 0},
                    "received_at": {"type": "string"},
                },
            },
            "TrashedFile": {
                "allOf": [_ref("File")],
                "required": ["trashed_at", "purge_after"],
                "properties": {
                    "trashed_at": {"type": "string"},
                    "purge_after": {"type": "string", "description": "When the reconciler deletes it for good"},
                },
            },
            "TrashList": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": _ref("TrashedFile")},
                    "next_cursor": {"type": ["string", "null"]},
                },
            },
            "TrashEmptied": {
                "type": "object",
                "required": ["deleted", "more"],
                "properties": {
                    "deleted": {"type": "integer", "minimum": 0},
                    "more": {"type": "boolean", "description": "Files remain: send the request again"},
                },
            },
            "AuditEvent": {
                "type": "object",
                "required": ["seq", "at", "actor", "action", "target", "detail", "request_id"],
                "properties": {
                    "seq": {"type": "integer"},
                    "at": {"type": "string"},
                    "actor": {
                        "type": "string",
                        "enum": ["user", "admin", "link", "system"],
                        "description": "`link`: someone holding a share link or file request URL",
                    },
                    "action": {"type": "string", "description": "e.g. link.created, file_request.used, quota.changed"},
                    "target": {"type": ["string", "null"]},
                    "detail": {"type": "object"},
                    "request_id": {"type": ["string", "null"]},
                },
            },
            "AuditPage": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": _ref("AuditEvent")},
                    "next_cursor": {"type": ["string", "null"], "pattern": "^[0-9]+$"},
                },
            },
            "Usage": {
                "type": "object",
                "required": list(_USAGE_PROPERTIES),
                "properties": _USAGE_PROPERTIES,
            },
            "UserQuota": {
                "allOf": [_ref("Usage")],
                "required": ["user_id"],
                "properties": {"user_id": {"type": "string"}},
            },
            "Stats": {
                "type": "object",
                "required": [
                    "upload_count",
                    "total_bytes",
                    "last_upload_at",
                    "by_content_type",
                    "folder_count",
                    "quota",
                ],
                "properties": {
                    "upload_count": {"type": "integer", "description": "Files stored, the trash included"},
                    "folder_count": {"type": "integer", "description": "Folders, not those in the trash"},
                    "total_bytes": {"type": "integer"},
                    "last_upload_at": {"type": ["string", "null"]},
                    "by_content_type": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "quota": _ref("Usage"),
                },
            },
            "Limits": {
                "type": "object",
                "required": [
                    "max_file_size",
                    "max_form_file_size",
                    "max_multipart_file_size",
                    "allowed_content_types",
                    "link_lifetime_seconds",
                    "trash_retention_days",
                ],
                "properties": {
                    "max_file_size": {"type": "integer", "description": "Largest single-request upload (raw PUT)"},
                    "max_form_file_size": {
                        "type": "integer",
                        "description": "Largest file in a multipart/form-data POST /api/files (parsed in memory)",
                    },
                    "max_multipart_file_size": {"type": "integer"},
                    "allowed_content_types": {"type": "array", "items": {"type": "string"}},
                    "link_lifetime_seconds": {
                        "type": "object",
                        "required": ["min", "max"],
                        "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
                        "description": "expires_in of share links and file requests",
                    },
                    "trash_retention_days": {
                        "type": "integer",
                        "description": "Days a deleted file stays in the trash before it is deleted for good",
                    },
                },
            },
            "Summary": {
                "type": "object",
                "required": ["id", "summary"],
                "properties": {"id": {"type": "string"}, "summary": {"type": "string"}},
            },
            "SearchResults": {
                "type": "object",
                "required": ["query", "mode", "modes", "results"],
                "properties": {
                    "query": {"type": "string"},
                    "mode": {"type": "string", "enum": ["hybrid", "semantic", "keyword"]},
                    "modes": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["keyword", "semantic"]},
                        "description": "The engines that answered (hybrid answers from keywords alone"
                        " while the embedding model is unavailable)",
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["file", "score", "matched", "snippet"],
                            "properties": {
                                "file": _ref("File"),
                                "score": {
                                    "type": "number",
                                    "description": "Reciprocal rank fusion of the engines' ranks; higher is better",
                                },
                                "matched": {
                                    "type": "array",
                                    "items": {"type": "string", "enum": ["keyword", "semantic"]},
                                    "description": "The engines whose candidates include the file",
                                },
                                "snippet": {"type": "string"},
                            },
                        },
                    },
                },
            },
            "EventTicket": {
                "type": "object",
                "required": ["ticket", "expires_at", "url"],
                "properties": {
                    "ticket": {"type": "string"},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "url": {"type": "string", "description": "Where to open the WebSocket with it"},
                },
            },
            "Key": {
                "type": "object",
                "required": ["user_id", "key", "prefix"],
                "properties": {"user_id": {"type": "string"}, "key": {"type": "string"}, "prefix": {"type": "string"}},
            },
        },
    },
    "security": [{"apiKey": []}],
    "paths": {
        "/health": {
            "get": {
                "summary": "Liveness",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The service is up")},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
        "/api/admin/keys": {
            "post": {
                "summary": "Mint an API key for a user (admin token)",
                "security": _ADMIN,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["user_id"],
                                "properties": {"user_id": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {"201": _json(_ref("Key"), "The key, shown once"), **_problems(400, 401, 413, 503)},
            }
        },
        "/api/admin/keys/{prefix}": {
            "delete": {
                "summary": "Revoke an API key (admin token)",
                "security": _ADMIN,
                "parameters": [{"name": "prefix", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"204": {"description": "Revoked"}, **_problems(401, 404, 503)},
            }
        },
        "/api/admin/users/{user_id}/quota": {
            "get": {
                "summary": "A user's quota and usage (admin token)",
                "security": _ADMIN,
                "parameters": [_USER_ID],
                "responses": {"200": _json(_ref("UserQuota"), "Quota and usage"), **_problems(401, 404, 503)},
            },
            "put": {
                "summary": "Set a user's quota (admin token); a field null or absent goes back to the default",
                "security": _ADMIN,
                "parameters": [_USER_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "description": "Unknown fields are refused (400)",
                                "properties": {
                                    name: {
                                        "type": ["integer", "null"],
                                        "minimum": 0,
                                        "maximum": maximum,
                                        "description": description,
                                    }
                                    for name, (maximum, description) in _QUOTA_LIMITS.items()
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("UserQuota"), "The quota now in force, and usage"),
                    **_problems(400, 401, 404, 413, 503),
                },
            },
        },
        "/api/admin/users/{user_id}/audit": {
            "get": {
                "summary": "A user's audit trail, newest first (admin token)",
                "security": _ADMIN,
                "parameters": [_USER_ID, *_AUDIT_PAGE],
                "responses": {"200": _json(_ref("AuditPage"), "A page of events"), **_problems(400, 401, 404, 503)},
            }
        },
        "/api/files": {
            "get": {
                "summary": "The caller's files, newest first (not those in the trash)",
                "parameters": [
                    *_PAGE,
                    {
                        "name": "file_request_id",
                        "in": "query",
                        "description": "Only the files that arrived through this file request",
                        "schema": _RECORD_ID,
                    },
                ],
                "responses": {"200": _json(_ref("FileList"), "A page of files"), **_problems(400, 401, 503)},
            },
            "post": {
                "summary": "Upload a file as multipart/form-data",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "description": {"type": "string"},
                                    "folder_id": {"type": "string", "description": "The folder to put it in"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("File"), "Stored"),
                    **_problems(400, 401, 409, 411, 415, 503),
                    **_quota_problems(),
                    **_UPLOAD_RATE_LIMITED,
                },
            },
        },
        "/api/files/{file}": {
            "put": {
                "summary": "Upload a file as the raw request body (Content-Length required)",
                "parameters": [
                    _FILE,
                    {"name": "X-Description", "in": "header", "schema": {"type": "string"}},
                    {"name": "X-Checksum-SHA256", "in": "header", "schema": {"type": "string"}},
                    {
                        "name": "folder_id",
                        "in": "query",
                        "description": "The folder to put it in (the root without one); a name taken there"
                        " is numbered: `q3 (2).pdf`",
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "201": _json(_ref("File"), "Stored"),
                    **_problems(400, 401, 409, 411, 415, 503),
                    **_quota_problems(),
                    **_UPLOAD_RATE_LIMITED,
                },
            },
            "patch": {
                "summary": "Rename a file and/or move it to another folder (its bytes stay where they are)",
                "parameters": [_FILE],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "minProperties": 1,
                                "properties": {"filename": _NAME, "folder_id": _FOLDER_REF},
                            }
                        }
                    },
                },
                "responses": {"200": _json(_ref("File"), "The file"), **_problems(*_AUTH_PROBLEMS, 409, 413)},
            },
            "get": {
                "summary": "A file's metadata",
                "parameters": [_FILE, {"name": "include", "in": "query", "schema": {"enum": ["content"]}}],
                "responses": {"200": _json(_ref("File"), "The file"), **_problems(*_AUTH_PROBLEMS)},
            },
            "delete": {
                "summary": "Move a file to the trash (restore it with POST /api/trash/{file_id}/restore)",
                "parameters": [_FILE],
                "responses": {"204": {"description": "Moved to the trash"}, **_problems(*_AUTH_PROBLEMS)},
            },
        },
        "/api/files/{file_id}/content": {
            "get": {
                "summary": "A file's bytes (Range, If-None-Match and HEAD supported)",
                "parameters": [_FILE_ID, *_CONTENT_HEADERS],
                "responses": _content_responses(),
            }
        },
        "/api/files/{file_id}/links": {
            "post": {
                "summary": "Create a share link: a signed URL anyone holding it may download the file through",
                "parameters": [_FILE_ID],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "description": "Unknown fields are refused (400); an empty body is {}",
                                "properties": {
                                    "expires_in": {
                                        "type": "integer",
                                        "minimum": 60,
                                        "maximum": _MAX_RECORD_SECONDS,
                                        "default": 3600,
                                        "description": "Seconds the link is valid",
                                    },
                                    "password": _PASSWORD,
                                    "max_downloads": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                                    "label": _LABEL,
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("ShareLink"), "The link"),
                    **_problems(*_AUTH_PROBLEMS, 413),
                    **_rate_limited("Too many links and file requests created in the last minute (Retry-After)"),
                },
            }
        },
        "/api/files/{file_id}/download-url": {
            "post": {
                "summary": "A short-lived signed URL for the owner's own download in a browser (not a share"
                " link: nothing to list or revoke)",
                "parameters": [_FILE_ID],
                "responses": {"201": _json(_ref("DownloadUrl"), "The URL"), **_problems(*_AUTH_PROBLEMS)},
            }
        },
        "/api/files/{file_id}/summary": {
            "get": {
                "summary": "A text file's summary; ?stream=1 streams a fresh one as Server-Sent Events",
                "parameters": [_FILE_ID, {"name": "stream", "in": "query", "schema": {"enum": ["0", "1"]}}],
                "responses": {
                    "200": {
                        "description": "The summary; with stream=1, SSE `data:` events ending `data: [DONE]`",
                        "content": {
                            "application/json": {"schema": _ref("Summary")},
                            "text/event-stream": {"schema": {"type": "string"}},
                        },
                    },
                    **_problems(*_AUTH_PROBLEMS),
                    **_rate_limited(
                        "stream=1: too many summaries in the last minute, or the day's AI calls are used up"
                        " (Retry-After: until midnight UTC)"
                    ),
                },
            }
        },
        "/api/search": {
            "get": {
                "summary": "The caller's text files ranked for a query: semantic (Vectorize), keyword (FTS5) or both",
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "mode",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["hybrid", "semantic", "keyword"], "default": "hybrid"},
                    },
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
                ],
                "responses": {
                    "200": _json(_ref("SearchResults"), "Best first"),
                    **_problems(400, 401, 503),
                    **_rate_limited(
                        "Too many searches in the last minute, or (mode=semantic) the day's AI calls are used up"
                        " (Retry-After); hybrid then answers from keywords alone"
                    ),
                },
            }
        },
        "/api/links": {
            "get": {
                "summary": "The caller's share links that are not revoked, newest first",
                "parameters": [
                    *_PAGE,
                    {
                        "name": "file_id",
                        "in": "query",
                        "description": "Only the links of this file",
                        "schema": {"type": "string", "format": "uuid"},
                    },
                ],
                "responses": {"200": _json(_ref("ShareLinkList"), "A page of links"), **_problems(400, 401, 503)},
            }
        },
        "/api/links/{link_id}": {
            "delete": {
                "summary": "Revoke a share link: its URL stops working at once",
                "parameters": [_LINK_ID],
                "responses": {"204": {"description": "Revoked"}, **_problems(401, 404, 503)},
            }
        },
        "/api/file-requests": {
            "post": {
                "summary": "Create a file request: a URL through which anyone holding it may send the caller files",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "description": "Unknown fields are refused (400); an empty body is {}",
                                "properties": {
                                    "expires_in": {
                                        "type": "integer",
                                        "minimum": 60,
                                        "maximum": _MAX_RECORD_SECONDS,
                                        "default": 7 * 24 * 3600,
                                        "description": "Seconds the request is open",
                                    },
                                    "password": _PASSWORD,
                                    "max_files": {"type": "integer", "minimum": 1, "maximum": 10_000},
                                    "max_file_size": {
                                        "type": "integer",
                                        "minimum": 1,
                                        "description": "Bytes per file; at most, and by default, max_file_size of"
                                        " GET /api/limits",
                                    },
                                    "allowed_types": {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": {"type": "string"},
                                        "description": "Accepted content types (by default all of GET /api/limits);"
                                        " another type is refused with 415",
                                    },
                                    "label": _LABEL,
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("FileRequest"), "The file request"),
                    **_problems(400, 401, 413, 415, 503),
                    **_rate_limited("Too many links and file requests created in the last minute (Retry-After)"),
                },
            },
            "get": {
                "summary": "The caller's file requests that are not revoked, newest first",
                "parameters": _PAGE,
                "responses": {
                    "200": _json(_ref("FileRequestList"), "A page of file requests"),
                    **_problems(400, 401, 503),
                },
            },
        },
        "/api/file-requests/{request_id}": {
            "delete": {
                "summary": "Close a file request: its URL stops accepting files at once",
                "parameters": [_REQUEST_ID],
                "responses": {"204": {"description": "Revoked"}, **_problems(401, 404, 503)},
            }
        },
        "/api/folders": {
            "post": {
                "summary": "Create a folder",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["name"],
                                "properties": {"name": _NAME, "parent_id": _FOLDER_REF},
                            }
                        }
                    },
                },
                "responses": {"201": _json(_ref("Folder"), "Created"), **_problems(400, 401, 409, 413, 503)},
            }
        },
        "/api/folders/{folder_id}": {
            "get": {
                "summary": "A folder, with the path to it",
                "parameters": [_FOLDER_ID],
                "responses": {"200": _json(_ref("FolderWithPath"), "The folder"), **_problems(*_AUTH_PROBLEMS)},
            },
            "patch": {
                "summary": "Rename a folder and/or move it into another",
                "parameters": [_FOLDER_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "minProperties": 1,
                                "properties": {"name": _NAME, "parent_id": _FOLDER_REF},
                            }
                        }
                    },
                },
                "responses": {"200": _json(_ref("Folder"), "The folder"), **_problems(*_AUTH_PROBLEMS, 409, 413)},
            },
            "delete": {
                "summary": "Move a folder and everything in it to the trash",
                "parameters": [_FOLDER_ID],
                "responses": {"204": {"description": "Moved to the trash"}, **_problems(*_AUTH_PROBLEMS)},
            },
        },
        "/api/folders/{folder_id}/entries": {
            "get": {
                "summary": "A folder's folders and files, by name",
                "parameters": [_FOLDER_ID, *_PAGE],
                "responses": {"200": _json(_ref("Entries"), "A page of entries"), **_problems(*_AUTH_PROBLEMS)},
            }
        },
        "/api/trash/folders": {
            "get": {
                "summary": "The folders the caller deleted, most recent first",
                "parameters": _PAGE,
                "responses": {
                    "200": _json(_ref("TrashedFolderList"), "A page of trashed folders"),
                    **_problems(400, 401, 503),
                },
            }
        },
        "/api/trash/folders/{folder_id}/restore": {
            "post": {
                "summary": "Bring back a deleted folder with everything its deletion took",
                "parameters": [_FOLDER_ID],
                "responses": {"200": _json(_ref("Folder"), "The restored folder"), **_problems(*_AUTH_PROBLEMS, 409)},
            }
        },
        "/api/trash": {
            "get": {
                "summary": "The caller's trash, most recently deleted first",
                "parameters": _PAGE,
                "responses": {"200": _json(_ref("TrashList"), "A page of trashed files"), **_problems(400, 401, 503)},
            },
            "delete": {
                "summary": "Empty the trash, a batch of files at a time (repeat while `more`)",
                "responses": {"200": _json(_ref("TrashEmptied"), "Deleted for good"), **_problems(401, 503)},
            },
        },
        "/api/trash/{file_id}/restore": {
            "post": {
                "summary": "Take a file out of the trash",
                "parameters": [_FILE_ID],
                "responses": {"200": _json(_ref("File"), "The restored file"), **_problems(*_AUTH_PROBLEMS)},
            }
        },
        "/api/trash/{file_id}": {
            "delete": {
                "summary": "Delete a file in the trash for good",
                "parameters": [_FILE_ID],
                "responses": {"204": {"description": "Deleted"}, **_problems(*_AUTH_PROBLEMS)},
            }
        },
        "/api/audit": {
            "get": {
                "summary": "The caller's audit trail (keys, links, file requests, quota), newest first",
                "parameters": _AUDIT_PAGE,
                "responses": {"200": _json(_ref("AuditPage"), "A page of events"), **_problems(400, 401, 503)},
            }
        },
        "/api/tus/": {
            "options": {
                "summary": "tus 1.0: the protocol's version, extensions and limits",
                "security": [],
                "responses": {"204": {"description": "Capabilities", "headers": _TUS_CAPABILITIES}},
            },
            "post": {
                "summary": "tus creation (and creation-with-upload): begin a resumable upload",
                "parameters": [
                    _TUS_RESUMABLE,
                    {"name": "Upload-Length", "in": "header", "required": True, "schema": _DECIMAL_HEADER},
                    {
                        "name": "Upload-Metadata",
                        "in": "header",
                        "description": "`key base64value` pairs: filename (or name), filetype (or type),"
                        " folder_id, description",
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "required": False,
                    "content": {_TUS_BODY: {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "201": {"description": "Created; Location names the upload", "headers": _TUS_PROGRESS},
                    **_problems(400, 401, 409, 412, 415, 503),
                    **_quota_problems(),
                    **_UPLOAD_RATE_LIMITED,
                },
            },
        },
        "/api/tus/{upload_id}": {
            "head": {
                "summary": "tus: where a resumable upload stands (Upload-Offset)",
                "parameters": [_UPLOAD_ID, _TUS_RESUMABLE],
                "responses": {
                    "200": {"description": "Its offset and length", "headers": _TUS_PROGRESS},
                    **_problems(400, 401, 404, 410, 412, 503),
                },
            },
            "patch": {
                "summary": "tus: append bytes at Upload-Offset",
                "parameters": [
                    _UPLOAD_ID,
                    _TUS_RESUMABLE,
                    {"name": "Upload-Offset", "in": "header", "required": True, "schema": _DECIMAL_HEADER},
                    {
                        "name": "Upload-Checksum",
                        "in": "header",
                        "description": "`sha1|sha256|md5 base64digest` of this request's body",
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {_TUS_BODY: {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "204": {"description": "Stored; Upload-Offset is the new offset", "headers": _TUS_PROGRESS},
                    **_problems(400, 401, 404, 409, 410, 412, 413, 415, 460, 503),
                },
            },
            "delete": {
                "summary": "tus termination: abandon an upload (its bytes are deleted)",
                "parameters": [_UPLOAD_ID, _TUS_RESUMABLE],
                "responses": {"204": {"description": "Terminated"}, **_problems(400, 401, 404, 412, 503)},
            },
            "post": {
                "summary": "tus: PATCH, DELETE or HEAD through X-HTTP-Method-Override",
                "parameters": [
                    _UPLOAD_ID,
                    {
                        "name": "X-HTTP-Method-Override",
                        "in": "header",
                        "required": True,
                        "schema": {"enum": ["PATCH", "DELETE", "HEAD"]},
                    },
                ],
                "responses": {
                    "200": {"description": "As HEAD"},
                    "204": {"description": "As PATCH or DELETE"},
                    **_problems(400, 401, 404, 405, 409, 410, 412, 413, 415, 460, 503),
                },
            },
        },
        "/api/uploads": {
            "post": {
                "summary": "Start a multipart upload",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewUpload")}}},
                "responses": {
                    "201": _json(_ref("UploadPlan"), "The plan (the file's size is held of the quota until it ends)"),
                    **_problems(400, 401, 415, 503),
                    **_quota_problems(),
                    **_UPLOAD_RATE_LIMITED,
                },
            }
        },
        "/api/uploads/{upload_id}": {
            "get": {
                "summary": "A multipart upload's progress",
                "parameters": [_UPLOAD_ID],
                "responses": {"200": _json(_ref("UploadState"), "Progress"), **_problems(*_AUTH_PROBLEMS)},
            },
            "delete": {
                "summary": "Abort a multipart upload",
                "parameters": [_UPLOAD_ID],
                "responses": {"204": {"description": "Aborted"}, **_problems(*_AUTH_PROBLEMS)},
            },
        },
        "/api/uploads/{upload_id}/parts/{part}": {
            "put": {
                "summary": "Upload one part (exactly part_size bytes, the last part the rest)",
                "parameters": [
                    _UPLOAD_ID,
                    {"name": "part", "in": "path", "required": True, "schema": {"type": "integer"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {"200": _json(_ref("Part"), "Stored"), **_problems(*_AUTH_PROBLEMS, 411, 415)},
            }
        },
        "/api/uploads/{upload_id}/complete": {
            "post": {
                "summary": "Assemble the parts into a file",
                "parameters": [_UPLOAD_ID],
                "responses": {"201": _json(_ref("File"), "Stored"), **_problems(*_AUTH_PROBLEMS, 409)},
            }
        },
        "/api/stats": {
            "get": {
                "summary": "The caller's upload statistics and usage of their quota",
                "responses": {"200": _json(_ref("Stats"), "Statistics"), **_problems(401, 503)},
            }
        },
        "/api/events/tickets": {
            "post": {
                "summary": "A single-use ticket (valid for a minute) that opens GET /api/events",
                "responses": {"201": _json(_ref("EventTicket"), "The ticket"), **_problems(401, 503)},
            }
        },
        "/api/events": {
            "get": {
                "summary": "The caller's changes as a WebSocket stream, or as Server-Sent Events with"
                " Accept: text/event-stream (a ticket, no API key)",
                "description": "Events are JSON text messages {seq, type, file?, stats?, at} with type"
                " file.created, file.updated, file.trashed, file.restored, file.deleted or stats.updated, seq"
                " increasing per user; a `resync` event means reload the list. Send `ping` to get `pong`"
                " (keep-alive).",
                "security": [],
                "parameters": [
                    {"name": "ticket", "in": "query", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "since",
                        "in": "query",
                        "description": "The last seq the client saw: what came after is sent first",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                "responses": {
                    "101": {"description": "Switching to the WebSocket protocol"},
                    "200": {
                        "description": "Server-Sent Events (Accept: text/event-stream); Last-Event-ID resumes",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_problems(401, 426),
                },
            }
        },
        "/api/limits": {
            "get": {
                "summary": "Upload size limits, accepted content types, signed-link lifetimes and trash retention",
                "responses": {"200": _json(_ref("Limits"), "Limits"), **_problems(401, 503)},
            }
        },
        "/d/{token}": {
            "get": {
                "summary": "Download through a share link (no API key); HEAD does not count as a download",
                "security": [],
                "parameters": [
                    _TOKEN,
                    {
                        "name": "X-Link-Password",
                        "in": "header",
                        "description": "The link's password, if it has one: as typed (UTF-8), or percent-encoded"
                        " where a client cannot send it raw (a browser). Ten wrong ones a minute per client"
                        " (a hundred per link) answer 429",
                        "schema": {"type": "string"},
                    },
                    *_CONTENT_HEADERS,
                ],
                "responses": _download_responses(form=False),
            },
            "post": {
                "summary": "Download through a share link by POST: what its password form submits",
                "security": [],
                "parameters": [
                    _TOKEN,
                    {
                        "name": "X-Link-Password",
                        "in": "header",
                        "description": "The link's password; when absent, the form's `password` field is read",
                        "schema": {"type": "string"},
                    },
                    *_CONTENT_HEADERS,
                ],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {"password": {"type": "string"}},
                                "description": "At most 4096 bytes (413 beyond)",
                            }
                        }
                    },
                },
                "responses": _download_responses(form=True),
            },
        },
        "/r/{token}": {
            "get": {
                "summary": "A file request (no API key): its upload page for a browser (Accept: text/html),"
                " else what it accepts",
                "security": [],
                "parameters": [_TOKEN],
                "responses": {
                    "200": {
                        "description": "What the request accepts, or the upload page",
                        "content": {"application/json": {"schema": _ref("FileRequestInfo")}, **_HTML},
                    },
                    **_problems(403, 404, 410, 503),
                },
            }
        },
        "/r/{token}/files/{filename}": {
            "put": {
                "summary": "Send a file to a file request's owner as the raw request body (no API key;"
                " Content-Length required)",
                "security": [],
                "parameters": [
                    _TOKEN,
                    {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "X-Request-Password",
                        "in": "header",
                        "description": "The file request's password, if it has one: as typed (UTF-8), or"
                        " percent-encoded where a client cannot send it raw (a browser). Ten wrong ones a minute"
                        " per client (a hundred per request) answer 429",
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "201": _json(_ref("ReceivedFile"), "Received (the sender sees no more of it)"),
                    **_problems(400, 401, 404, 411, 415, 503),
                    "403": {
                        "description": "Problem details (RFC 9457): the token is not valid, or the request"
                        " accepts no more files",
                        "content": {"application/problem+json": {"schema": _ref("Problem")}},
                    },
                    "410": {
                        "description": "Problem details (RFC 9457): the request was closed or has expired",
                        "content": {"application/problem+json": {"schema": _ref("Problem")}},
                    },
                    "413": {
                        "description": "Problem details (RFC 9457): over the request's size limit, or the"
                        " recipient has no room (nothing of their quota is disclosed)",
                        "content": {"application/problem+json": {"schema": _ref("Problem")}},
                    },
                    **_rate_limited("Too many uploads, or wrong passwords, in the last minute (Retry-After)"),
                },
            }
        },
    },
}

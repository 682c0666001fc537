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
_AUTH_PROBLEMS = (400, 401, 404, 405, 503)
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
        "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
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
            "Link": {
                "type": "object",
                "required": ["url", "expires_at"],
                "properties": {"url": {"type": "string"}, "expires_at": {"type": "string"}},
            },
            "Stats": {
                "type": "object",
                "required": ["upload_count", "total_bytes", "last_upload_at", "by_content_type"],
                "properties": {
                    "upload_count": {"type": "integer"},
                    "total_bytes": {"type": "integer"},
                    "last_upload_at": {"type": ["string", "null"]},
                    "by_content_type": {"type": "object", "additionalProperties": {"type": "integer"}},
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
                "parameters": [{"name": "prefix", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"204": {"description": "Revoked"}, **_problems(401, 404, 503)},
            }
        },
        "/api/files": {
            "get": {
                "summary": "The caller's files, newest first",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
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
                                },
                            }
                        }
                    },
                },
                "responses": {"201": _json(_ref("File"), "Stored"), **_problems(400, 401, 411, 413, 415, 503)},
            },
        },
        "/api/files/{file}": {
            "put": {
                "summary": "Upload a file as the raw request body (Content-Length required)",
                "parameters": [
                    _FILE,
                    {"name": "X-Description", "in": "header", "schema": {"type": "string"}},
                    {"name": "X-Checksum-SHA256", "in": "header", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {"201": _json(_ref("File"), "Stored"), **_problems(400, 401, 411, 413, 415, 503)},
            },
            "get": {
                "summary": "A file's metadata",
                "parameters": [_FILE, {"name": "include", "in": "query", "schema": {"enum": ["content"]}}],
                "responses": {"200": _json(_ref("File"), "The file"), **_problems(*_AUTH_PROBLEMS)},
            },
            "delete": {
                "summary": "Delete a file",
                "parameters": [_FILE],
                "responses": {"204": {"description": "Deleted"}, **_problems(*_AUTH_PROBLEMS)},
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
                "summary": "Create a signed download link",
                "parameters": [_FILE_ID],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"expires_in": {"type": "integer"}}}
                        }
                    },
                },
                "responses": {"201": _json(_ref("Link"), "The link"), **_problems(*_AUTH_PROBLEMS, 413)},
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
                "responses": {"200": _json(_ref("SearchResults"), "Best first"), **_problems(400, 401, 503)},
            }
        },
        "/api/uploads": {
            "post": {
                "summary": "Start a multipart upload",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewUpload")}}},
                "responses": {"201": _json(_ref("UploadPlan"), "The plan"), **_problems(400, 401, 413, 415, 503)},
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
                "summary": "The caller's upload statistics",
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
                " file.created, file.updated, file.deleted or stats.updated, seq increasing per user; a"
                " `resync` event means reload the list. Send `ping` to get `pong` (keep-alive).",
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
                "summary": "Upload size limits, accepted content types and signed-link lifetimes",
                "responses": {"200": _json(_ref("Limits"), "Limits"), **_problems(401, 503)},
            }
        },
        "/d/{token}": {
            "get": {
                "summary": "Download through a signed link (no API key)",
                "security": [],
                "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
                    *_CONTENT_HEADERS,
                ],
                "responses": _content_responses(),
            }
        },
    },
}

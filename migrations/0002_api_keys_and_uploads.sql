-- API keys: only a SHA-256 hash of each key is stored; `prefix` is the public half used to find it.
CREATE TABLE api_keys (
    prefix TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Client-driven multipart uploads (files over the request-body limit), resumable part by part.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    file_id TEXT NOT NULL UNIQUE,
    r2_key TEXT NOT NULL,
    r2_upload_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    part_size INTEGER NOT NULL,
    part_count INTEGER NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'aborted')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- The reconciler's scan for idle multipart uploads.
CREATE INDEX uploads_open ON uploads (status, updated_at) WHERE status = 'open';

CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads (id),
    part_number INTEGER NOT NULL,
    etag TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);

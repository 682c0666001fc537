-- Issue 15: share links and file requests as records, reservations of quota, trash, audit trail.

-- Trash: a trashed file is hidden from lists, search and links, keeps its bytes (and its place in
-- the quota) and can be restored until the reconciler purges it. deleted_at still means gone.
ALTER TABLE files ADD COLUMN trashed_at TEXT;
-- The file request a file arrived through (NULL: uploaded by its owner).
ALTER TABLE files ADD COLUMN file_request_id TEXT;

-- The owner's listing: live files only, newest first.
CREATE INDEX files_user_listed ON files (user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL AND trashed_at IS NULL;
-- The owner's trash, most recently trashed first.
CREATE INDEX files_user_trash ON files (user_id, trashed_at DESC, id DESC)
    WHERE deleted_at IS NULL AND trashed_at IS NOT NULL;
-- The reconciler's scan for trash past its retention.
CREATE INDEX files_trash_expiry ON files (trashed_at, id) WHERE deleted_at IS NULL AND trashed_at IS NOT NULL;
-- What arrived through one file request.
CREATE INDEX files_by_request ON files (file_request_id, created_at DESC, id DESC)
    WHERE file_request_id IS NOT NULL AND deleted_at IS NULL;

-- A share link: the signed token in its URL names the link (not the file), so revoking the row
-- revokes the URL. Download counts live in the owner's UserStats object, which serialises them.
CREATE TABLE share_links (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    label TEXT,
    password_hash TEXT,
    max_downloads INTEGER,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX share_links_user ON share_links (user_id, created_at DESC, id DESC) WHERE revoked_at IS NULL;

-- An upload-only link: anyone with its URL may add files to its owner, within its limits.
CREATE TABLE file_requests (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    label TEXT,
    password_hash TEXT,
    max_files INTEGER,
    max_file_size INTEGER NOT NULL,
    allowed_types TEXT NOT NULL, -- a JSON array of content types
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX file_requests_user ON file_requests (user_id, created_at DESC, id DESC) WHERE revoked_at IS NULL;

-- A quota reservation of a single-request upload while its body streams (multipart uploads are
-- found through their `uploads` row). The reservation itself is in the owner's UserStats; this
-- row is how the reconciler finds the reservations of requests that died. The insert of the
-- file's row deletes it in the same transaction.
CREATE TABLE upload_reservations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX upload_reservations_expiry ON upload_reservations (expires_at, id);

-- Security-relevant events, per user, newest last.
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,   -- 'user', 'admin', 'link' (someone holding a link), 'system'
    action TEXT NOT NULL,  -- e.g. 'link.created', 'file_request.used', 'quota.changed'
    target TEXT,
    detail TEXT,           -- a JSON object
    request_id TEXT
);
CREATE INDEX audit_events_user ON audit_events (user_id, seq DESC);

-- Files: one row per stored object. status: pending -> completed | failed.
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    r2_key TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'failed')),
    ai_analysis TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);

-- A user's live files, newest first (listing and stats repair).
CREATE INDEX files_user_created ON files (user_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
-- The reconciler's scan for rows stuck in pending.
CREATE INDEX files_pending ON files (status, updated_at) WHERE status = 'pending';

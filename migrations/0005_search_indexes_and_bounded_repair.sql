-- Search moves to engines that scale with the platform: semantic search to Vectorize (the
-- consumer writes each chunk's embedding there, services/vectors.py) and keyword search to an
-- FTS5 index over the chunks' text. D1 keeps the text (for keyword search and snippets), not the
-- embeddings. Chunks of files completed before this migration keep their text and are found by
-- keyword search; the reconciler moves their embeddings to Vectorize a batch at a time from
-- legacy_chunk_vectors, then drops each batch (services/reconciler.py).
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    file_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    content TEXT NOT NULL,
    -- The owner as one FTS5 token ('u' and the hex of the id): a keyword query is restricted to
    -- the caller inside the full-text index itself (owner:u... AND terms).
    owner TEXT GENERATED ALWAYS AS ('u' || lower(hex(user_id))) VIRTUAL,
    UNIQUE (file_id, chunk_index)
);
CREATE VIRTUAL TABLE chunk_text USING fts5(
    owner, content, content = 'chunks', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_indexed AFTER INSERT ON chunks BEGIN
    INSERT INTO chunk_text (rowid, owner, content) VALUES (new.id, new.owner, new.content);
END;
CREATE TRIGGER chunks_unindexed AFTER DELETE ON chunks BEGIN
    INSERT INTO chunk_text (chunk_text, rowid, owner, content) VALUES ('delete', old.id, old.owner, old.content);
END;

CREATE TABLE legacy_chunk_vectors (
    file_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (file_id, chunk_index)
);
-- How many vectors a file has in Vectorize, written before they are (the consumer), so deleting a
-- file can delete exactly its vectors, even when it was deleted while being analysed.
ALTER TABLE files ADD COLUMN chunk_count INTEGER;
UPDATE files SET chunk_count = (SELECT COUNT(*) FROM file_chunks c WHERE c.file_id = files.id)
    WHERE id IN (SELECT file_id FROM file_chunks);
INSERT INTO chunks (file_id, user_id, chunk_index, content)
    SELECT c.file_id, c.user_id, c.chunk_index, c.content FROM file_chunks c
    JOIN files f ON f.id = c.file_id WHERE f.deleted_at IS NULL;
INSERT INTO legacy_chunk_vectors (file_id, user_id, chunk_index, embedding)
    SELECT c.file_id, c.user_id, c.chunk_index, c.embedding FROM file_chunks c
    JOIN files f ON f.id = c.file_id WHERE f.deleted_at IS NULL;
DROP TABLE file_chunks;

-- Bounded background work. The reconciler's cursors, one row per step, so successive runs
-- cover everything a step has to look at without any run looking at all of it.
CREATE TABLE reconciler_cursors (
    step TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Deleted files in the order the purge step walks them (their objects and vectors go again).
CREATE INDEX files_deleted ON files (deleted_at, id) WHERE deleted_at IS NOT NULL;
-- Rows in the order they changed: the stats step walks users whose files changed.
CREATE INDEX files_updated ON files (updated_at, id);
-- A user's live files by id, with what stats count: counts and sums, and the pages a stats
-- rebuild sends, read the index alone.
CREATE INDEX files_user_live ON files (user_id, id, size_bytes, content_type, created_at) WHERE deleted_at IS NULL;

-- Text chunks of a file with their embeddings (@cf/baai/bge-base-en-v1.5: 768 float32, 3,072 bytes).
CREATE TABLE file_chunks (
    file_id TEXT NOT NULL REFERENCES files (id),
    user_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    content TEXT NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (file_id, chunk_index)
);
-- Search reads one user's chunks.
CREATE INDEX file_chunks_user ON file_chunks (user_id);

-- The last processing error, kept across retries so the dead-letter consumer can report it.
ALTER TABLE files ADD COLUMN last_error TEXT;

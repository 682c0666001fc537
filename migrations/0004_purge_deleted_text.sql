-- A deleted file keeps no text: its chunks, analysis (summaries, extracted text), description and
-- last error go in the same transaction that marks it deleted (services/metadata.py). This
-- purges what deletes made before that change left behind.
DELETE FROM file_chunks WHERE file_id IN (SELECT id FROM files WHERE deleted_at IS NOT NULL);
UPDATE files SET ai_analysis = NULL, description = NULL, last_error = NULL WHERE deleted_at IS NOT NULL;

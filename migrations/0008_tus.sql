-- Issue 16: resumable uploads over tus 1.0 (and the IETF draft's interop versions) on the same
-- `uploads` rows as the API's own multipart uploads. A tus client sends chunks of any size; R2
-- wants equal parts. Bytes that do not fill a part yet wait in temporary objects (`segments`,
-- under tus/<upload id>/) until the request that completes the part streams them, followed by
-- its own bytes, into R2 as that part.

-- 'parts': the client sends numbered parts (api/uploads.py). 'tus': the server cuts parts.
ALTER TABLE uploads ADD COLUMN protocol TEXT NOT NULL DEFAULT 'parts';
-- Bytes received and kept: the parts in upload_parts, then the segments.
ALTER TABLE uploads ADD COLUMN offset_bytes INTEGER NOT NULL DEFAULT 0;
-- JSON array of {"key", "start", "length"}: the temporary objects holding the bytes from the
-- start of the incomplete part up to offset_bytes, in order.
ALTER TABLE uploads ADD COLUMN segments TEXT NOT NULL DEFAULT '[]';
-- Raised by every request that writes to the upload: a request whose epoch is no longer the
-- upload's lost it to a newer one (the client reconnected) and may commit nothing more.
ALTER TABLE uploads ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
-- When a tus upload may no longer be resumed (Upload-Expires); the reconciler aborts it then.
ALTER TABLE uploads ADD COLUMN expires_at TEXT;
-- Upload-Metadata as the client sent it (echoed by HEAD).
ALTER TABLE uploads ADD COLUMN metadata TEXT;

-- Issue 16: WebDAV at /dav/ over the same folders and files.

-- Dead properties (PROPPATCH): kept per file or folder (target 'file:<id>', 'folder:<id>', and
-- 'folder:' for the root), so they follow a move or rename, and are copied with COPY. The value
-- is the property's content as XML.
CREATE TABLE dav_properties (
    user_id TEXT NOT NULL,
    target TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, target, namespace, name)
);

-- The time a client says its copy was last modified (X-OC-Mtime, as rclone sends it); the
-- upload's time when none was given.
ALTER TABLE files ADD COLUMN modified_at TEXT;
-- What R2 computed when it stored a single-request upload: its MD5 (hex) and its ETag, so
-- PROPFIND can show them (getetag, oc:checksums) without asking R2 for every file.
ALTER TABLE files ADD COLUMN md5 TEXT;
ALTER TABLE files ADD COLUMN etag TEXT;

-- Limits per file or folder, kept by D1 so concurrent PROPPATCHes cannot pass them together:
-- at most 200 dead properties, and 64 KB of their values in all (a PROPFIND answers with them).
CREATE TRIGGER dav_properties_count BEFORE INSERT ON dav_properties
WHEN (SELECT COUNT(*) FROM dav_properties WHERE user_id = NEW.user_id AND target = NEW.target) >= 200
BEGIN
    SELECT RAISE(ABORT, 'dav property limit: at most 200 per resource');
END;

CREATE TRIGGER dav_properties_size BEFORE INSERT ON dav_properties
WHEN (SELECT COALESCE(SUM(length(value)), 0) FROM dav_properties WHERE user_id = NEW.user_id
      AND target = NEW.target AND NOT (namespace = NEW.namespace AND name = NEW.name)) + length(NEW.value) > 65536
BEGIN
    SELECT RAISE(ABORT, 'dav property limit: at most 64 KB of values per resource');
END;

CREATE TRIGGER dav_properties_size_update BEFORE UPDATE OF value ON dav_properties
WHEN (SELECT COALESCE(SUM(length(value)), 0) FROM dav_properties WHERE user_id = NEW.user_id
      AND target = NEW.target AND NOT (namespace = NEW.namespace AND name = NEW.name)) + length(NEW.value) > 65536
BEGIN
    SELECT RAISE(ABORT, 'dav property limit: at most 64 KB of values per resource');
END;

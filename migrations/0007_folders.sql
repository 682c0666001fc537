-- Issue 16: folders. A user's files live at paths: every file is in a folder ('' is the root),
-- and folders nest. Names are unique within a folder, across files and folders alike (a path
-- names one thing), compared exactly as stored (NFC, case-sensitive). Moving or renaming changes
-- rows only: R2 keys, share links and dead properties follow the id.

-- A folder: live (trashed_at NULL) or in the trash. A folder leaves the trash for good by losing
-- its row (it holds no bytes); files that pointed at it are in the trash or deleted themselves.
CREATE TABLE folders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    parent_id TEXT NOT NULL, -- '' is the user's root
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    trashed_at TEXT,
    -- The folder whose deletion put this one in the trash (itself for the folder deleted): a
    -- restore brings back exactly what that deletion took.
    trashed_with TEXT
);
-- One live name per folder, and a folder's listing in name order.
CREATE UNIQUE INDEX folders_name ON folders (user_id, parent_id, name) WHERE trashed_at IS NULL;
-- Walking down a subtree (deletion, moves), live or trashed.
CREATE INDEX folders_parent ON folders (parent_id);
-- The user's trashed folders (each deletion once), most recent first, and what one deletion took.
CREATE INDEX folders_trash ON folders (user_id, trashed_at DESC, id DESC) WHERE trashed_with = id;
CREATE INDEX folders_trashed_with ON folders (trashed_with) WHERE trashed_with IS NOT NULL;

ALTER TABLE files ADD COLUMN folder_id TEXT NOT NULL DEFAULT '';
-- As for folders: the folder whose deletion trashed this file (NULL: deleted by itself).
ALTER TABLE files ADD COLUMN trashed_with TEXT;
CREATE INDEX files_trashed_with ON files (trashed_with) WHERE trashed_with IS NOT NULL;

-- Until now any number of listed files could share a name (all in the root). All but the newest
-- of each name get the start of their id before the extension: "q3.pdf" -> "q3 (1a2b3c4d).pdf".
-- rtrim(name, <name without dots>) is the name up to its last dot ('' without one).
UPDATE files
SET filename = CASE
        WHEN rtrim(filename, replace(filename, '.', '')) IN ('', '.') THEN filename || ' (' || substr(id, 1, 8) || ')'
        ELSE substr(filename, 1, length(rtrim(filename, replace(filename, '.', ''))) - 1)
            || ' (' || substr(id, 1, 8) || ')'
            || substr(filename, length(rtrim(filename, replace(filename, '.', ''))))
    END
WHERE deleted_at IS NULL AND trashed_at IS NULL AND EXISTS (
    SELECT 1 FROM files newer
    WHERE newer.user_id = files.user_id AND newer.filename = files.filename
      AND newer.deleted_at IS NULL AND newer.trashed_at IS NULL
      AND (newer.created_at, newer.id) > (files.created_at, files.id)
);

-- One live name per folder, and a folder's listing in name order.
CREATE UNIQUE INDEX files_name ON files (user_id, folder_id, filename) WHERE deleted_at IS NULL AND trashed_at IS NULL;

-- The rules a unique index cannot state, kept by D1 itself so no race between a check and a
-- write can break them: a name is not both a file and a folder of one folder, and nothing is
-- put into a folder that is not live (so a folder's deletion, one transaction, takes all of it).
CREATE TRIGGER files_name_not_a_folder BEFORE INSERT ON files
WHEN NEW.deleted_at IS NULL AND NEW.trashed_at IS NULL AND EXISTS (
    SELECT 1 FROM folders WHERE user_id = NEW.user_id AND parent_id = NEW.folder_id AND name = NEW.filename
      AND trashed_at IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: a folder has this name');
END;

CREATE TRIGGER files_name_not_a_folder_update BEFORE UPDATE OF filename, folder_id, trashed_at ON files
WHEN NEW.deleted_at IS NULL AND NEW.trashed_at IS NULL AND EXISTS (
    SELECT 1 FROM folders WHERE user_id = NEW.user_id AND parent_id = NEW.folder_id AND name = NEW.filename
      AND trashed_at IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: a folder has this name');
END;

CREATE TRIGGER folders_name_not_a_file BEFORE INSERT ON folders
WHEN NEW.trashed_at IS NULL AND EXISTS (
    SELECT 1 FROM files WHERE user_id = NEW.user_id AND folder_id = NEW.parent_id AND filename = NEW.name
      AND deleted_at IS NULL AND trashed_at IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: a file has this name');
END;

CREATE TRIGGER folders_name_not_a_file_update BEFORE UPDATE OF name, parent_id, trashed_at ON folders
WHEN NEW.trashed_at IS NULL AND EXISTS (
    SELECT 1 FROM files WHERE user_id = NEW.user_id AND folder_id = NEW.parent_id AND filename = NEW.name
      AND deleted_at IS NULL AND trashed_at IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: a file has this name');
END;

CREATE TRIGGER files_into_live_folder BEFORE INSERT ON files
WHEN NEW.folder_id <> '' AND NOT EXISTS (
    SELECT 1 FROM folders WHERE id = NEW.folder_id AND user_id = NEW.user_id AND trashed_at IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such folder');
END;

CREATE TRIGGER files_moved_into_live_folder BEFORE UPDATE OF folder_id ON files
WHEN NEW.folder_id <> '' AND NOT EXISTS (
    SELECT 1 FROM folders WHERE id = NEW.folder_id AND user_id = NEW.user_id AND trashed_at IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such folder');
END;

CREATE TRIGGER folders_into_live_folder BEFORE INSERT ON folders
WHEN NEW.parent_id <> '' AND NOT EXISTS (
    SELECT 1 FROM folders WHERE id = NEW.parent_id AND user_id = NEW.user_id AND trashed_at IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such folder');
END;

CREATE TRIGGER folders_moved_into_live_folder BEFORE UPDATE OF parent_id ON folders
WHEN NEW.parent_id <> '' AND NOT EXISTS (
    SELECT 1 FROM folders WHERE id = NEW.parent_id AND user_id = NEW.user_id AND trashed_at IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such folder');
END;

-- A file request may put what it receives into a folder ('' is the root).
ALTER TABLE file_requests ADD COLUMN folder_id TEXT NOT NULL DEFAULT '';
-- A multipart upload becomes a file in this folder.
ALTER TABLE uploads ADD COLUMN folder_id TEXT NOT NULL DEFAULT '';

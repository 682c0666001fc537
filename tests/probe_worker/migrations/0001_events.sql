-- Everything the probe Worker observes is written here so tests can read it back over HTTP.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    detail TEXT,
    note TEXT
);

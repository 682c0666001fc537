"""Builds large local state for edgefiles straight into the stores the local runtime persists
(while it is stopped): D1 rows, chunks and their FTS5 index, R2 objects, Vectorize vectors and
UserStats objects, consistent with each other as the Worker would have left them.

Used by bench/scale.py (N = 1k ... 1M file rows) and by the search and reconciler tests. The
stores must first exist: `create_stores` starts the runtime once on the state (that applies the
D1 migrations and creates the Vectorize index), mints the users' keys and uploads one file (which
creates R2's database), then stops it; `populate` fills the stores.

Layout of each store, as of miniflare 4 and this repository's runtime:
- D1: v3/d1/miniflare-D1DatabaseObject/<hash>.sqlite (the schema from migrations/);
- R2: v3/r2/miniflare-R2BucketObject/<hash>.sqlite `_mf_objects` rows, each naming a blob file in
  v3/r2/<bucket>/blobs/ (here hard links to one file, so 100k objects take one file's space);
- Vectorize: v3/vectorize/<index>.sqlite (runtime/lib/bindings/vectorize.mjs);
- UserStats: v3/do/<script>-UserStats/<sha256(directory NUL name)>.sqlite
  (runtime/lib/bindings/durable-objects.mjs).
"""

import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

HEAVY_USER = "heavy"
LIGHT_USERS = [f"light-{i:03d}" for i in range(100)]
HEAVY_SHARE = 0.9
DIMENSIONS = 768
BASE_VECTORS = 4096
FILE_BYTES = 2048
WORDS = [
    "invoice",
    "report",
    "budget",
    "meeting",
    "garden",
    "travel",
    "recipe",
    "contract",
    "quarterly",
    "taxes",
    "design",
    "review",
    "photo",
    "holiday",
    "project",
    "roadmap",
    "customer",
    "support",
    "release",
    "notes",
    "security",
    "audit",
]
TYPES = [("text/plain", 6), ("image/jpeg", 2), ("application/pdf", 1), ("application/octet-stream", 1)]
LINKS_PER_SEED = 60_000  # ext4 allows 65,000 hard links to a file
INDEX = "edgefiles-chunks"
BUCKET = "edgefiles-files"


@dataclass
class Built:
    files: int
    chunks: int
    objects: int
    heavy_files: list[str] = field(default_factory=list)  # a sample of the heavy user's file ids
    heavy_codes: dict[str, str] = field(default_factory=dict)  # file id -> a code only its text has


def _store(state: Path, kind: str) -> Path:
    [path] = [p for p in (state / "v3" / kind).glob("*/*.sqlite") if p.name != "metadata.sqlite"]
    return path


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _owner(index: int, n: int) -> str:
    # Deterministic: the first 90% of every hundred rows are the heavy user's.
    return HEAVY_USER if index % 100 < HEAVY_SHARE * 100 else LIGHT_USERS[(index // 100) % len(LIGHT_USERS)]


def _content_type(index: int) -> str:
    slot = index % sum(weight for _, weight in TYPES)
    for content_type, weight in TYPES:
        if slot < weight:
            return content_type
        slot -= weight
    raise AssertionError


def _rows(n: int, now: datetime) -> Iterator[tuple]:
    start = now - timedelta(days=365)
    step = timedelta(days=364) / max(n, 1)
    for i in range(n):
        file_id = str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15 + 0x1234567) % (1 << 128), version=4))
        user = _owner(i, n)
        created = start + step * i
        stamp = _iso(created)
        key = f"objects/{stamp[:13]}/{user}/{file_id}"
        content_type = _content_type(i)
        analysis = json.dumps({"kind": "text", "summary": f"File {i}.", "chunks": 0})
        yield (file_id, user, f"file-{i}.txt", key, content_type, stamp, analysis)


class _Stores:
    """Batched inserts into D1, Vectorize and R2 (R2's blobs as hard links to one file)."""

    def __init__(self, state: Path) -> None:
        self.d1 = sqlite3.connect(_store(state, "d1"))
        self.vectors = sqlite3.connect(state / "v3" / "vectorize" / f"{INDEX}.sqlite")
        self.r2 = sqlite3.connect(_store(state, "r2"))
        for connection in (self.d1, self.vectors, self.r2):
            connection.execute("PRAGMA synchronous = OFF")
        self.blobs = state / "v3" / "r2" / BUCKET / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.content = (" ".join(WORDS) * 20).encode()[:FILE_BYTES]
        self.etag = hashlib.md5(self.content, usedforsecurity=False).hexdigest()
        self.seeds: list[Path] = []
        self.links = 0
        self.files: list[tuple] = []
        self.chunks: list[tuple] = []
        self.vector_rows: list[tuple] = []
        self.objects: list[tuple] = []

    def add_object(self, i: int, key: str, name: str, content_type: str, user: str, stamp: str) -> None:
        if self.links % LINKS_PER_SEED == 0:  # a file system allows so many links to one file
            self.seeds.append(self.blobs / f"seed-{len(self.seeds)}")
            self.seeds[-1].write_bytes(self.content)
        blob_id = os.urandom(32).hex() + f"{i:016x}"
        os.link(self.seeds[-1], self.blobs / blob_id)
        self.links += 1
        uploaded = int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
        http = json.dumps({"contentType": content_type, "contentDisposition": f'attachment; filename="{name}"'})
        custom = json.dumps({"uploadedBy": user, "originalName": name})
        self.objects.append((key, blob_id, os.urandom(16).hex(), FILE_BYTES, self.etag, uploaded, http, custom))

    def flush(self) -> None:
        self.d1.executemany(
            "INSERT INTO files (id, user_id, filename, r2_key, content_type, size_bytes, created_at, updated_at,"
            " ai_analysis, status, chunk_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'completed', ?)",
            self.files,
        )
        self.d1.executemany(
            "INSERT INTO chunks (file_id, user_id, chunk_index, content) VALUES (?, ?, ?, ?)", self.chunks
        )
        self.vectors.executemany(
            "INSERT INTO vectors (id, namespace, vals, metadata, indexed) VALUES (?, NULL, ?, ?, ?)", self.vector_rows
        )
        self.r2.executemany(
            "INSERT INTO _mf_objects (key, blob_id, version, size, etag, uploaded, checksums, http_metadata,"
            " custom_metadata) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
            self.objects,
        )
        for rows in (self.files, self.chunks, self.vector_rows, self.objects):
            rows.clear()

    def close(self) -> None:
        self.flush()
        for connection in (self.d1, self.vectors, self.r2):
            connection.commit()
            connection.close()
        for seed in self.seeds:
            seed.unlink()


def create_stores(state: Path, admin_token: str, users: list[str], args: list[str]) -> dict[str, str]:
    """Starts edgefiles once on `state` and stops it: the stores exist, and each user has an API
    key (returned) and the first user one uploaded file."""
    from runtime_harness import ROOT, running, wait_for  # tests/, on the caller's sys.path

    admin = {"authorization": f"Bearer {admin_token}"}
    with running(ROOT / "wrangler.toml", state, state / "create-stores.log", args=args) as runtime:
        keys = {
            user: runtime.client.post("/api/admin/keys", json={"user_id": user}, headers=admin).json()["key"]
            for user in users
        }
        owner = {"authorization": f"Bearer {keys[users[0]]}"}
        seed = runtime.client.put(
            "/api/files/seed.txt", content=b"seed", headers={**owner, "content-type": "text/plain"}
        )
        seed.raise_for_status()
        location = seed.headers["location"]
        wait_for(lambda: runtime.client.get(location, headers=owner).json()["status"] != "pending")
    return keys


def populate(state: Path, n: int, *, max_chunks: int = 100_000, max_objects: int = 100_000) -> Built:
    """Adds `n` live, completed file rows (90% the heavy user's), chunks and vectors for up to
    `max_chunks` chunks of text files (two per file) and R2 objects for up to `max_objects`."""
    built = Built(files=n, chunks=0, objects=0)
    base = np.random.default_rng(13).standard_normal((BASE_VECTORS, DIMENSIONS)).astype("<f4")
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    stores = _Stores(state)
    stats: dict[str, list[tuple]] = {}
    for i, (file_id, user, name, key, content_type, stamp, analysis) in enumerate(_rows(n, datetime.now(UTC))):
        count = 0
        if content_type == "text/plain" and built.chunks < max_chunks:
            code = f"K{i:07d}"
            count = min(2, max_chunks - built.chunks)
            for index in range(count):
                words = " ".join(WORDS[(i * 3 + k + index) % len(WORDS)] for k in range(40))
                stores.chunks.append((file_id, user, index, f"{words} code {code} part {index}"))
                vector = base[(i * 7919 + index) % BASE_VECTORS].tobytes()
                metadata = json.dumps({"owner": user, "file": file_id})
                stores.vector_rows.append((f"{file_id}:{index}", vector, metadata, json.dumps({"owner": user})))
            built.chunks += count
            if user == HEAVY_USER and len(built.heavy_codes) < 200:
                built.heavy_codes[file_id] = code
        stores.files.append((file_id, user, name, key, content_type, FILE_BYTES, stamp, stamp, analysis, count))
        if built.objects < max_objects:
            stores.add_object(i, key, name, content_type, user, stamp)
            built.objects += 1
        if user == HEAVY_USER and len(built.heavy_files) < 2000:
            built.heavy_files.append(file_id)
        stats.setdefault(user, []).append((file_id, FILE_BYTES, content_type, stamp))
        if len(stores.files) >= 20_000:
            stores.flush()
    stores.close()
    _write_user_stats(state, stats)
    return built


def _write_user_stats(state: Path, stats: dict[str, list[tuple]]) -> None:
    directory = state.resolve() / "v3" / "do" / "edgefiles-UserStats"
    directory.mkdir(parents=True, exist_ok=True)
    for user, uploads in stats.items():
        name = hashlib.sha256(f"{directory}\0{user}".encode()).hexdigest()
        with closing(sqlite3.connect(directory / f"{name}.sqlite")) as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS _cf_METADATA (name TEXT PRIMARY KEY, value);
                CREATE TABLE IF NOT EXISTS uploads (file_id TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL,
                    content_type TEXT NOT NULL, uploaded_at TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS uploads_by_time ON uploads (uploaded_at);
                CREATE TABLE IF NOT EXISTS totals (id INTEGER PRIMARY KEY CHECK (id = 1),
                    upload_count INTEGER NOT NULL, total_bytes INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS type_counts (content_type TEXT PRIMARY KEY, n INTEGER NOT NULL);
                """
            )
            db.execute("INSERT OR IGNORE INTO _cf_METADATA (name, value) VALUES ('id_name', ?)", (user,))
            db.executemany("INSERT OR IGNORE INTO uploads VALUES (?, ?, ?, ?)", uploads)
            db.execute("DELETE FROM totals")
            db.execute("INSERT INTO totals SELECT 1, COUNT(*), COALESCE(SUM(size_bytes), 0) FROM uploads")
            db.execute("DELETE FROM type_counts")
            db.execute("INSERT INTO type_counts SELECT content_type, COUNT(*) FROM uploads GROUP BY content_type")
            db.commit()

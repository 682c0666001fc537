"""CPU time and isolate memory per API route and per consumer run, on the local runtime's
accounting (runtime/lib/limits.mjs: the invocation's own slices of the event loop, so an upper
bound of what Cloudflare charges), next to the Workers Free plan's 10 ms and the 128 MB limit.

Every route runs ROUNDS times; each response's trace gives its CPU ms and the isolate's memory
high-water mark. The consumer's batches are measured per file type from the queue traces.
Run alone: .venv/bin/python bench/route_costs.py (make bench includes it).
"""

import json
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))
from runtime_harness import ROOT, Runtime, running, wait_for

ADMIN = "bench-admin-token-0123456789abcdef-0123"
ARGS = [f"--var=ADMIN_TOKEN:{ADMIN}", "--var=SIGNING_KEY:bench-signing-key-0123456789abcdef"]
ROUNDS = 20
FREE_PLAN_CPU_MS = 10
MEMORY_LIMIT_MB = 128

# Why an invocation needs more than the Free plan's 10 ms, by the start of its name.
REASONS = {
    "consumer: image": "two Workers AI calls on the image's byte array (built in JS) and one D1 batch",
    "consumer: PDF": "inflating and scanning the PDF's content streams in Python, then as text",
    "consumer": "Workers AI calls (request and response JSON), text chunking and one D1 batch per file",
    "GET /d/{token} (password": "PBKDF2-SHA256 at 100,000 iterations (WebCrypto) for the password",
    "GET /d/": "reads the link's record in D1 and counts the download in the owner's UserStats",
    "POST /api/uploads": "reserves the quota in UserStats (its marker in D1), opens and records the R2 upload",
    "GET /api/links": "a page of links from D1 and their download counts from UserStats",
    "GET /api/search": "embeds the query, asks Vectorize and FTS5 for 100 candidates each and fuses them",
    "POST /api/files": "parses the multipart form and streams its file part to R2",
    "PUT /api/files": "sniffs the head and streams the body to R2 (the runtime's own streaming is counted too)",
    "DELETE /api/files": "one D1 write to the trash, then the KV delete and the Durable Object's event",
    "DELETE /api/trash": "one D1 batch, then the R2, Vectorize and Durable Object deletions in parallel",
    "PUT /r/": "checks the request's token and record, reserves quota in UserStats, streams to R2",
}


def finished(user: httpx.Client, file_id: str, what: str) -> None:
    wait_for(lambda: user.get(f"/api/files/{file_id}").json()["status"] != "pending", timeout=120, what=what)


def pdf() -> bytes:
    """A PDF with one compressed content stream of text, as the extractor reads them."""
    stream = zlib.compress(b"BT /F1 12 Tf (quarterly figures and a plan for the archive) Tj ET\n" * 1000)
    head = b"%PDF-1.4\n4 0 obj << /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n"
    return head + stream + b"\nendstream\nendobj\n%%EOF"


def png(seed: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + seed * 64


def costs(runtime: Runtime, name: str, call: Callable[[], httpx.Response], expect: int) -> dict:
    cpu, memory = [], []
    for _ in range(ROUNDS):
        response = call()
        if response.status_code != expect:
            raise RuntimeError(f"{name}: {response.status_code} {response.text[:200]}")
        trace = runtime.trace(response)
        cpu.append(trace["cpu_ms"])
        memory.append(trace["memory_peak_bytes"] / 1e6)
    p95 = sorted(cpu)[int(0.95 * (len(cpu) - 1))]
    return {"cpu_p50_ms": statistics.median(cpu), "cpu_p95_ms": p95, "memory_mb": max(memory)}


def sharing_and_trash(runtime: Runtime, user: httpx.Client, file: dict, add: Callable[..., None]) -> None:
    """The routes of trash, share links as records and file requests."""
    plain = {"content-type": "text/plain"}
    victims = [user.put(f"/api/files/d{i}.txt", content=b"x", headers=plain).json()["id"] for i in range(ROUNDS)]
    to_trash, to_restore, to_purge = iter(victims), iter(victims), iter(victims)
    add("DELETE /api/files/{id} (to the trash)", lambda: user.delete(f"/api/files/{next(to_trash)}"), 204)
    add("GET /api/trash", lambda: user.get("/api/trash"))
    add("POST /api/trash/{id}/restore", lambda: user.post(f"/api/trash/{next(to_restore)}/restore"), 200)
    for victim in victims:
        user.delete(f"/api/files/{victim}")
    add("DELETE /api/trash/{id}", lambda: user.delete(f"/api/trash/{next(to_purge)}"), 204)
    secret = {"x-link-password": "a long passphrase"}
    guarded = user.post(f"/api/files/{file['id']}/links", json={"password": secret["x-link-password"]}).json()["url"]
    add(
        "GET /d/{token} (password: PBKDF2, 100,000 iterations)",
        lambda: httpx.get(runtime.url + guarded, headers=secret),
    )
    limited = user.post(f"/api/files/{file['id']}/links", json={"max_downloads": ROUNDS}).json()["url"]
    add("GET /d/{token} (download limit)", lambda: httpx.get(runtime.url + limited))
    add("GET /api/links", lambda: user.get("/api/links"))
    request = user.post("/api/file-requests", json={}).json()["url"]
    to_request = runtime.url + request + "/files/sent.txt"
    add(
        "PUT /r/{token}/files/{filename} (1 KB)", lambda: httpx.put(to_request, content=b"k" * 1000, headers=plain), 201
    )
    add("GET /api/audit", lambda: user.get("/api/audit"))


def measure(runtime: Runtime) -> dict[str, dict]:
    admin = httpx.Client(base_url=runtime.url, headers={"authorization": f"Bearer {ADMIN}"}, timeout=60)
    key = admin.post("/api/admin/keys", json={"user_id": f"bench-{uuid.uuid4().hex[:8]}"}).json()["key"]
    user = httpx.Client(base_url=runtime.url, headers={"authorization": f"Bearer {key}"}, timeout=120)
    text = b"quarterly figures and plans for the archive " * 200
    plain, binary = {"content-type": "text/plain"}, {"content-type": "application/octet-stream"}
    files = [user.put(f"/api/files/seed-{i}.txt", content=text, headers=plain).json() for i in range(5)]
    for seed in files:
        finished(user, seed["id"], "a seed file")
    file = files[0]
    link = user.post(f"/api/files/{file['id']}/links", json={}).json()["url"]
    routes: dict[str, dict] = {}

    def add(name: str, call: Callable[[], httpx.Response], expect: int = 200) -> None:
        routes[name] = costs(runtime, name, call, expect)

    add("GET /health", lambda: user.get("/health"))
    add("GET /openapi.json", lambda: user.get("/openapi.json"))
    add("POST /api/admin/keys", lambda: admin.post("/api/admin/keys", json={"user_id": f"u-{uuid.uuid4().hex}"}), 201)
    add("GET /api/files", lambda: user.get("/api/files"))
    megabyte = b"\0" * 1_000_000
    add("PUT /api/files/{filename} (1 MB)", lambda: user.put("/api/files/b.bin", content=megabyte, headers=binary), 201)
    form = {"file": ("f.bin", megabyte, "application/octet-stream")}
    add("POST /api/files (1 MB form)", lambda: user.post("/api/files", files=form), 201)
    add("GET /api/files/{id} (cached)", lambda: user.get(f"/api/files/{file['id']}"))
    add("GET /api/files/{id}/content", lambda: user.get(f"/api/files/{file['id']}/content"))
    content, first_bytes = f"/api/files/{file['id']}/content", {"range": "bytes=0-99"}
    add("GET /api/files/{id}/content (range)", lambda: user.get(content, headers=first_bytes), 206)
    add("POST /api/files/{id}/links", lambda: user.post(f"/api/files/{file['id']}/links", json={}), 201)
    add("GET /d/{token}", lambda: httpx.get(runtime.url + link))
    add("GET /api/files/{id}/summary", lambda: user.get(f"/api/files/{file['id']}/summary"))
    add("GET /api/search", lambda: user.get("/api/search", params={"q": "quarterly plans"}))
    add("GET /api/stats", lambda: user.get("/api/stats"))
    add("GET /api/limits", lambda: user.get("/api/limits"))
    plan = {"filename": "m.bin", "content_type": "application/octet-stream", "size": 9 * 2**20}
    add("POST /api/uploads", lambda: user.post("/api/uploads", json=plan), 201)
    sharing_and_trash(runtime, user, file, add)

    cases = {
        "consumer: text (10 KB)": (lambda: b"words and numbers " * 600, "text/plain"),
        "consumer: image (1 MB)": (lambda: png(uuid.uuid4().bytes) * 1000, "image/png"),
        "consumer: PDF (60 KB of text)": (pdf, "application/pdf"),
    }
    for label, (body, content_type) in cases.items():
        cpu, memory = [], []
        for i in range(5):
            started = int(time.time() * 1000)
            uploaded = user.put(f"/api/files/c{i}", content=body(), headers={"content-type": content_type}).json()
            finished(user, uploaded["id"], label)
            # One file per batch: the uploads are sequential and each waits for its result.
            for batch in runtime.traces("queue", started):
                cpu.append(batch["cpu_ms"])
                memory.append(batch["memory_peak_bytes"] / 1e6)
        routes[label] = {"cpu_p50_ms": statistics.median(cpu), "cpu_p95_ms": max(cpu), "memory_mb": max(memory)}
    return routes


def print_table(routes: dict[str, dict]) -> None:
    print(f"\nCPU per invocation (local accounting; Free plan: {FREE_PLAN_CPU_MS} ms)", end="")
    print(f" and the isolate's memory ({MEMORY_LIMIT_MB} MB limit)")
    print("| route | CPU p50 ms | CPU p95 ms | isolate memory MB |")
    print("|---|---|---|---|")
    for name, row in routes.items():
        print(f"| {name} | {row['cpu_p50_ms']:.1f} | {row['cpu_p95_ms']:.1f} | {row['memory_mb']:.1f} |")
    over = {name: row for name, row in routes.items() if row["cpu_p50_ms"] > FREE_PLAN_CPU_MS}
    if over:
        print(f"\nOver {FREE_PLAN_CPU_MS} ms at p50:")
        for name in over:
            reason = next((why for start, why in REASONS.items() if name.startswith(start)), "no reason recorded")
            print(f"- {name}: {reason}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        with running(ROOT / "wrangler.toml", state / "state", state / "runtime.log", args=ARGS) as runtime:
            routes = measure(runtime)
    print_table(routes)
    (BENCH / "route_costs.json").write_text(json.dumps(routes, indent=2) + "\n")


if __name__ == "__main__":
    main()

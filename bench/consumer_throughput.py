"""Measures the queue consumer's throughput for text files on the local runtime.

Uploads N text files as one user, waits until every one is processed, and reports messages per
second two ways: over the wall clock from the first upload to the last completion (what a user
sees, including batching waits) and over the time the consumer actually spent in batches (from
the runtime's queue traces). Run: .venv/bin/python bench/consumer_throughput.py [N]
"""

import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from runtime_harness import ROOT, running, wait_for

ADMIN = "bench-admin-token"


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as state:
        args = [f"--var=ADMIN_TOKEN:{ADMIN}", "--var=SIGNING_KEY:bench-signing-key-0123456789abcdef"]
        with running(ROOT / "wrangler.toml", Path(state), Path(state) / "runtime.log", args=args) as runtime:
            key = runtime.client.post(
                "/api/admin/keys", json={"user_id": "bench"}, headers={"authorization": f"Bearer {ADMIN}"}
            ).json()["key"]
            client = httpx.Client(base_url=runtime.url, headers={"authorization": f"Bearer {key}"}, timeout=60)
            text = " ".join(f"Paragraph {i} of a benchmark document about edge storage." for i in range(40))
            started = time.perf_counter()
            for i in range(count):
                client.put(f"/api/files/doc{i}.txt", content=text.encode(), headers={"content-type": "text/plain"})
            uploaded = time.perf_counter()

            def all_done() -> bool:
                page = client.get("/api/files", params={"limit": 100}).json()["items"]
                statuses = [f["status"] for f in page]
                return len(statuses) == count and "pending" not in statuses

            wait_for(all_done, timeout=300, interval=0.2, what="every file to be processed")
            finished = time.perf_counter()
            batches = runtime.traces("queue")
            busy = sum(t["duration_ms"] for t in batches) / 1000
            print(f"files: {count} text files of {len(text)} bytes")
            print(f"uploads: {count / (uploaded - started):.1f} per second")
            print(f"end to end (first upload to last completion): {count / (finished - started):.1f} files/s")
            print(f"consumer busy time: {busy:.2f} s in {len(batches)} batches -> {count / busy:.1f} messages/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)

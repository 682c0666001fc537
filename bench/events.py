"""Real-time events on the local runtime (make bench; issue 14), with PyPI `websockets`:

1. Event latency: from the queue consumer's status write (the file's `updated_at`) to the
   client receiving its `file.updated` event, over ROUNDS uploads: p50 and p95 (one clock: the
   runtime and this client share the machine).
2. Many sockets on one object: SOCKETS WebSockets held by one user's UserStats object. The
   runtime's resident memory per socket (RSS before and after opening them, read from /proc), and
   the broadcast time: one upload, until every socket has its `file.created` event.

Writes bench/events.json. Run alone: .venv/bin/python bench/events.py
"""

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))
from runtime_harness import ROOT, Runtime, running

ADMIN = "bench-admin-token-0123456789abcdef-0123"
ARGS = [
    f"--var=ADMIN_TOKEN:{ADMIN}",
    "--var=SIGNING_KEY:bench-signing-key-0123456789abcdef",
    "--var=MAX_EVENT_STREAMS:1000",  # the default keeps 50 per user
]
ROUNDS = 30
SOCKETS = 1000


def key_for(runtime: Runtime, user: str) -> str:
    response = runtime.client.post(
        "/api/admin/keys", json={"user_id": user}, headers={"authorization": f"Bearer {ADMIN}"}
    )
    response.raise_for_status()
    return response.json()["key"]


async def open_stream(client: httpx.AsyncClient, port: int):
    ticket = (await client.post("/api/events/tickets")).json()["ticket"]
    return await connect(f"ws://127.0.0.1:{port}/api/events?ticket={ticket}", open_timeout=60, max_queue=None)


async def next_event(socket, kind: str) -> dict:
    while True:
        event = json.loads(await socket.recv())
        if event.get("type") == kind:
            return event


async def latency(runtime: Runtime, key: str) -> dict:
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=runtime.url, headers=headers, timeout=60) as client:
        socket = await open_stream(client, runtime.port)
        samples = []
        for i in range(ROUNDS):
            body = f"latency probe {i}".encode()
            await client.put(f"/api/files/probe-{i}.txt", content=body, headers={"content-type": "text/plain"})
            event = await asyncio.wait_for(next_event(socket, "file.updated"), 60)
            received = time.time()
            written = datetime.fromisoformat(event["file"]["updated_at"].replace("Z", "+00:00")).timestamp()
            samples.append((received - written) * 1000)
        await socket.close()
    samples.sort()
    return {
        "rounds": ROUNDS,
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1),
    }


async def many_sockets(runtime: Runtime, key: str) -> dict:
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=runtime.url, headers=headers, timeout=120) as client:
        await asyncio.sleep(1)
        before = runtime.rss_bytes()
        sockets = []
        for start in range(0, SOCKETS, 50):  # in waves, as tabs open over time
            sockets += await asyncio.gather(
                *(open_stream(client, runtime.port) for _ in range(start, min(SOCKETS, start + 50)))
            )
        await asyncio.sleep(1)
        after = runtime.rss_bytes()
        started = time.perf_counter()
        await client.put("/api/files/broadcast.txt", content=b"to everyone", headers={"content-type": "text/plain"})
        await asyncio.gather(*(asyncio.wait_for(next_event(s, "file.created"), 120) for s in sockets))
        broadcast_ms = (time.perf_counter() - started) * 1000
        await asyncio.gather(*(s.close() for s in sockets))
    return {
        "sockets": SOCKETS,
        "rss_before_mb": round(before / 1e6, 1),
        "rss_after_mb": round(after / 1e6, 1),
        "kb_per_socket": round((after - before) / SOCKETS / 1024, 1),
        "broadcast_ms": round(broadcast_ms, 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="edgefiles-events-") as tmp:
        state = Path(tmp)
        with running(ROOT / "wrangler.toml", state / "state", state / "runtime.log", args=ARGS) as runtime:
            measured = {
                "latency": asyncio.run(latency(runtime, key_for(runtime, "latency"))),
                "many_sockets": asyncio.run(many_sockets(runtime, key_for(runtime, "crowd"))),
            }
    lat, crowd = measured["latency"], measured["many_sockets"]
    print(f"event latency, consumer's status write -> client: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms")
    print(
        f"{crowd['sockets']} sockets on one object: {crowd['kb_per_socket']} KiB of runtime memory each"
        f" ({crowd['rss_before_mb']} -> {crowd['rss_after_mb']} MB); one event to all in {crowd['broadcast_ms']} ms"
    )
    (BENCH / "events.json").write_text(json.dumps(measured, indent=2) + "\n")


if __name__ == "__main__":
    main()

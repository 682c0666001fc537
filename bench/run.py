"""edgefiles benchmarks, each a ratio measured side by side in one run against a baseline Worker
that does only the bare binding work (bench/baseline_worker), alternating the two so machine
noise falls on both. Starts the runtimes itself; prints a table and writes bench/results.json
and bench/results.png.  Run: make bench
"""

import json
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))
from runtime_harness import ROOT, Runtime, running, wait_for

ADMIN = "bench-admin-token-0123456789abcdef-0123"
KiB, MiB = 1024, 1024 * 1024
OCTET_STREAM = {"content-type": "application/octet-stream"}
EDGEFILES_ARGS = [f"--var=ADMIN_TOKEN:{ADMIN}", "--var=SIGNING_KEY:bench-signing-key-0123456789abcdef"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(samples) * 1000,
        "p95_ms": percentile(samples, 0.95) * 1000,
        "n": len(samples),
    }


def timed(call: Callable[[], httpx.Response], expect: int) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code != expect:
        raise RuntimeError(f"expected {expect}, got {response.status_code}: {response.text[:200]}")
    return elapsed


def alternate(runs: int, ours: Callable[[], float], base: Callable[[], float]) -> tuple[list[float], list[float]]:
    a, b = [], []
    for i in range(runs):
        # Alternate which goes first, so neither always runs on a warmer machine.
        if i % 2:
            b.append(base())
            a.append(ours())
        else:
            a.append(ours())
            b.append(base())
    return a, b


class Bench:
    def __init__(self, edgefiles: Runtime, baseline: Runtime) -> None:
        self.edgefiles, self.baseline = edgefiles, baseline
        key = edgefiles.client.post(
            "/api/admin/keys", json={"user_id": "bench"}, headers={"authorization": f"Bearer {ADMIN}"}
        ).json()["key"]
        self.auth = {"authorization": f"Bearer {key}"}
        self.minted: list[str] = []
        self.ef = httpx.Client(base_url=edgefiles.url, headers=self.auth, timeout=300)
        self.bl = httpx.Client(base_url=baseline.url, timeout=300)
        self.results: dict = {}

    def upload_latency(self) -> None:
        rows = {}
        for label, size, runs in (("1 KB", KiB, 40), ("1 MB", MiB, 15), ("50 MB", 50 * MiB, 3)):
            body = bytes(size)
            ours, base = alternate(
                runs,
                lambda body=body: timed(
                    lambda: self.ef.put("/api/files/b.bin", content=body, headers=OCTET_STREAM), 201
                ),
                lambda body=body: timed(lambda: self.bl.put("/upload/b.bin", content=body), 201),
            )
            rows[label] = {
                "edgefiles": {**summary(ours), "MB_per_s": size / MiB / statistics.median(ours)},
                "baseline": {**summary(base), "MB_per_s": size / MiB / statistics.median(base)},
                "ratio": statistics.median(ours) / statistics.median(base),
            }
        self.results["upload"] = rows

    def cached_read(self) -> None:
        file_id = self.ef.put("/api/files/c.txt", content=b"cached", headers={"content-type": "text/plain"}).json()[
            "id"
        ]
        self.bl.put("/cached/k", content=b"cached")
        self.ef.get(f"/api/files/{file_id}")  # warm
        ours, base = alternate(
            200,
            lambda: timed(lambda: self.ef.get(f"/api/files/{file_id}"), 200),
            lambda: timed(lambda: self.bl.get("/cached/k"), 200),
        )
        self.results["cached_read"] = {
            "edgefiles": summary(ours),
            "baseline": summary(base),
            "ratio": statistics.median(ours) / statistics.median(base),
        }
        self.file_id = file_id

    def _client_keys(self, clients: int) -> list[dict]:
        """One user per client: the per-user rate limits (wrangler.toml [[ratelimits]]) would
        otherwise cap the throughput of one key at 300 uploads a minute; this measures the
        service, as many users at once would see it."""
        admin = {"authorization": f"Bearer {ADMIN}"}
        keys = []
        for _ in range(clients):
            user = f"bench-{len(self.minted)}"
            self.minted.append(user)
            key = self.ef.post("/api/admin/keys", json={"user_id": user}, headers=admin).json()["key"]
            keys.append({"authorization": f"Bearer {key}"})
        return keys

    def _throughput(
        self, make_request: Callable[[httpx.Client], int], headers: list[dict], url: str, clients: int
    ) -> dict:
        deadline = time.monotonic() + 3
        counts = {"ok": 0, "errors": 0}
        lock = threading.Lock()

        def loop(headers: dict) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                while time.monotonic() < deadline:
                    try:
                        ok = make_request(client) < 400
                    except httpx.HTTPError:
                        ok = False
                    with lock:
                        counts["ok" if ok else "errors"] += 1

        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            for future in [pool.submit(loop, headers[i % len(headers)]) for i in range(clients)]:
                future.result()
        return {"requests_per_s": counts["ok"] / (time.monotonic() - started), "errors": counts["errors"]}

    def throughput(self) -> None:
        body = bytes(KiB)
        routes = {
            "upload 1 KB": (
                lambda c: (
                    c.put(
                        "/api/files/t.bin", content=body, headers={"content-type": "application/octet-stream"}
                    ).status_code
                ),
                lambda c: c.put("/upload/t.bin", content=body).status_code,
            ),
            "cached read": (
                lambda c: c.get(f"/api/files/{self.file_id}").status_code,
                lambda c: c.get("/cached/k").status_code,
            ),
        }
        rows = {}
        for name, (ours, base) in routes.items():
            for clients in (1, 8, 32):
                keys = [self.auth] if name == "cached read" else self._client_keys(clients)
                a = self._throughput(ours, keys, self.edgefiles.url, clients)
                b = self._throughput(base, [{}], self.baseline.url, clients)
                rows[f"{name} x{clients}"] = {
                    "edgefiles": a,
                    "baseline": b,
                    "ratio": a["requests_per_s"] / b["requests_per_s"],
                }
        self.results["throughput"] = rows

    def _consumer_rate(self, runtime: Runtime, send: Callable[[], None], count: int) -> float:
        since = int(time.time() * 1000)
        send()

        def finished() -> list[dict]:
            return [t for t in runtime.traces("queue", since) if t["duration_ms"] is not None]

        wait_for(
            lambda: sum(t.get("messages", 0) for t in finished()) >= count,
            timeout=300,
            interval=0.2,
            what="the queue to drain",
        )
        busy = sum(t["duration_ms"] for t in finished()) / 1000
        return count / busy

    def consumer(self) -> None:
        text = " ".join(f"Paragraph {i} of a benchmark document about edge storage." for i in range(40)).encode()

        def send_files() -> None:
            for i in range(100):
                self.ef.put(f"/api/files/q{i}.txt", content=text, headers={"content-type": "text/plain"})

        ours = self._consumer_rate(self.edgefiles, send_files, 100)
        base = self._consumer_rate(self.baseline, lambda: self.bl.post("/enqueue"), 100)
        self.results["consumer"] = {
            "edgefiles_messages_per_s": ours,
            "baseline_ack_only_messages_per_s": base,
            "ratio": ours / base,
        }

    def memory(self) -> None:
        size = 200 * MiB
        plan = self.ef.post(
            "/api/uploads", json={"filename": "huge.bin", "content_type": "application/octet-stream", "size": size}
        ).json()
        base_rss = tree_rss(self.edgefiles)
        peak = [base_rss]
        sampling = [True]

        def sample() -> None:
            while sampling[0]:
                peak[0] = max(peak[0], tree_rss(self.edgefiles))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            part = bytes(plan["part_size"])
            for n in range(1, plan["part_count"] + 1):
                length = min(plan["part_size"], size - (n - 1) * plan["part_size"])
                self.ef.put(f"/api/uploads/{plan['upload_id']}/parts/{n}", content=part[:length]).raise_for_status()
            file = self.ef.post(f"/api/uploads/{plan['upload_id']}/complete").json()
            received = 0
            with self.ef.stream("GET", f"/api/files/{file['id']}/content", headers={"range": "bytes=0-"}) as response:
                for chunk in response.iter_bytes():
                    received += len(chunk)
        finally:
            sampling[0] = False
            sampler.join()
        assert received == size
        self.results["memory"] = {"file_MB": size / MiB, "peak_rss_growth_MB": (peak[0] - base_rss) / MiB}

    def critical_path(self) -> None:
        upload = self.ef.put("/api/files/p.txt", content=b"path", headers={"content-type": "text/plain"})
        read = self.ef.get(f"/api/files/{self.file_id}")
        self.results["critical_path"] = {
            "upload": sequential_round_trips(self.edgefiles.trace(upload)),
            "cached_read": sequential_round_trips(self.edgefiles.trace(read)),
        }

    def static_asset(self) -> None:
        """The web app's files are answered by the asset router without running Python: a module
        (GET /js/main.js) against the smallest Python route (GET /health, no binding calls), alternating."""
        size = len(self.ef.get("/js/main.js").content)
        ours, base = alternate(
            200,
            lambda: timed(lambda: self.ef.get("/js/main.js"), 200),
            lambda: timed(lambda: self.ef.get("/health"), 200),
        )
        self.results["static_asset"] = {
            "bytes": size,
            "asset": summary(ours),
            "python_health": summary(base),
            "ratio": statistics.median(ours) / statistics.median(base),
        }


def optimisation(after: Runtime, before: Runtime) -> dict:
    """The same requests against two builds that differ only in the optimisation, alternating."""
    clients = {}
    for name, runtime in (("after", after), ("before", before)):
        key = runtime.client.post(
            "/api/admin/keys", json={"user_id": "opt"}, headers={"authorization": f"Bearer {ADMIN}"}
        ).json()["key"]
        client = httpx.Client(base_url=runtime.url, headers={"authorization": f"Bearer {key}"}, timeout=60)
        file_id = client.put("/api/files/o.txt", content=b"opt", headers={"content-type": "text/plain"}).json()["id"]
        clients[name] = (client, file_id)
    rows = {}
    body = bytes(KiB)
    for name, call, expect in (
        ("cached read", lambda c, f: c.get(f"/api/files/{f}"), 200),
        ("upload 1 KB", lambda c, f: c.put("/api/files/o.bin", content=body, headers=OCTET_STREAM), 201),
    ):
        a, b = alternate(
            100,
            lambda call=call, expect=expect: timed(lambda: call(*clients["after"]), expect),
            lambda call=call, expect=expect: timed(lambda: call(*clients["before"]), expect),
        )
        rows[name] = {
            "before_median_ms": statistics.median(b) * 1000,
            "after_median_ms": statistics.median(a) * 1000,
            "after_over_before": statistics.median(a) / statistics.median(b),
        }
    for client, _ in clients.values():
        client.close()
    return rows


def sequential_round_trips(trace: dict) -> dict:
    """Binding round trips that run one after another: overlapping calls count once."""
    calls = sorted((c for c in trace["calls"] if not c["sync"]), key=lambda c: c["start"])
    steps: list[list[dict]] = []
    for call in calls:
        if steps and call["start"] < max(c["end"] for c in steps[-1]):
            steps[-1].append(call)
        else:
            steps.append([call])
    return {"count": len(steps), "steps": [" + ".join(f"{c['binding']}.{c['method']}" for c in step) for step in steps]}


def tree_rss(runtime: Runtime) -> int:
    """RSS of the runtime process and its children (workerd), in bytes."""
    total = 0
    pids = [runtime.pid]
    children = Path(f"/proc/{runtime.pid}/task/{runtime.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def startup(log: str) -> dict[str, int]:
    def ms(label: str) -> int:
        match = re.search(rf"\[pyworker\] {re.escape(label)}.* \.\.\. (\d+) ms", log)
        return int(match.group(1)) if match else -1

    return {
        "pyodide_load_ms": ms("pyodide load"),
        "sdk_install_ms": ms("workers SDK install"),
        "main_import_ms": ms("main module import"),
    }


def print_table(results: dict) -> None:
    print("\n== upload (PUT /api/files/{name} vs STORAGE.put only)")
    for label, row in results["upload"].items():
        e, b = row["edgefiles"], row["baseline"]
        print(
            f"  {label:6} edgefiles median {e['median_ms']:8.1f} ms p95 {e['p95_ms']:8.1f} ms {e['MB_per_s']:7.1f} MB/s"
            f" | baseline median {b['median_ms']:8.1f} ms p95 {b['p95_ms']:8.1f} ms | ratio {row['ratio']:.2f}"
        )
    row = results["cached_read"]
    print("== cached metadata read (GET /api/files/{id} vs CACHE.get only)")
    print(
        f"  edgefiles median {row['edgefiles']['median_ms']:.2f} ms p95 {row['edgefiles']['p95_ms']:.2f} ms"
        f" | baseline median {row['baseline']['median_ms']:.2f} ms p95 {row['baseline']['p95_ms']:.2f} ms"
        f" | ratio {row['ratio']:.2f}"
    )
    print("== throughput (3 s per point)")
    for label, row in results["throughput"].items():
        ours, base = row["edgefiles"], row["baseline"]
        print(
            f"  {label:16} edgefiles {ours['requests_per_s']:7.1f} req/s ({ours['errors']} errors)"
            f" | baseline {base['requests_per_s']:7.1f} req/s ({base['errors']} errors) | ratio {row['ratio']:.2f}"
        )
    row = results["consumer"]
    print(
        f"== queue consumer: edgefiles {row['edgefiles_messages_per_s']:.1f} text files/s"
        f" | ack-only {row['baseline_ack_only_messages_per_s']:.1f} msgs/s | ratio {row['ratio']:.2f}"
    )
    row = results["startup"]
    print(
        f"== start-up: pyodide {row['edgefiles']['pyodide_load_ms']} ms, SDK {row['edgefiles']['sdk_install_ms']} ms,"
        f" main import {row['edgefiles']['main_import_ms']} ms vs hello world {row['hello']['main_import_ms']} ms"
        f" | ratio {row['main_import_ratio']:.1f}"
    )
    print(
        f"== memory: {results['memory']['file_MB']:.0f} MB multipart upload + ranged download:"
        f" peak RSS growth {results['memory']['peak_rss_growth_MB']:.1f} MB (runtime + workerd)"
    )
    for name, row in results["critical_path"].items():
        print(f"== critical path, {name}: {row['count']} sequential round trips: {' -> '.join(row['steps'])}")
    row = results["static_asset"]
    print(
        f"== static asset (GET /js/main.js, {row['bytes']} B, no Python) median {row['asset']['median_ms']:.2f} ms"
        f" | GET /health in Python median {row['python_health']['median_ms']:.2f} ms | ratio {row['ratio']:.2f}"
    )
    print("== optimisation: API keys verified once per isolate (AUTH_CACHE_SECONDS=60) vs a D1 lookup per request")
    for name, row in results["optimisation"].items():
        print(
            f"  {name:12} before {row['before_median_ms']:6.2f} ms, after {row['after_median_ms']:6.2f} ms"
            f" | after/before {row['after_over_before']:.2f}"
        )


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    labels = [*results["upload"], "cached read"]
    ours = [results["upload"][k]["edgefiles"]["median_ms"] for k in results["upload"]] + [
        results["cached_read"]["edgefiles"]["median_ms"]
    ]
    base = [results["upload"][k]["baseline"]["median_ms"] for k in results["upload"]] + [
        results["cached_read"]["baseline"]["median_ms"]
    ]
    x = range(len(labels))
    left.bar([i - 0.2 for i in x], ours, 0.4, label="edgefiles")
    left.bar([i + 0.2 for i in x], base, 0.4, label="baseline")
    left.set_xticks(list(x), labels)
    left.set_yscale("log")
    left.set_ylabel("median latency (ms, log)")
    left.legend()
    for name in ("upload 1 KB", "cached read"):
        clients = [1, 8, 32]
        right.plot(
            clients,
            [results["throughput"][f"{name} x{c}"]["edgefiles"]["requests_per_s"] for c in clients],
            "o-",
            label=f"{name} edgefiles",
        )
        right.plot(
            clients,
            [results["throughput"][f"{name} x{c}"]["baseline"]["requests_per_s"] for c in clients],
            "o--",
            label=f"{name} baseline",
        )
    right.set_xlabel("concurrent clients")
    right.set_ylabel("requests/s")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        with (
            running(ROOT / "wrangler.toml", tmp_path / "ef", tmp_path / "ef.log", args=EDGEFILES_ARGS) as edgefiles,
            running(BENCH / "baseline_worker" / "wrangler.toml", tmp_path / "bl", tmp_path / "bl.log") as baseline,
        ):
            bench = Bench(edgefiles, baseline)
            for step in (
                bench.upload_latency,
                bench.cached_read,
                bench.throughput,
                bench.consumer,
                bench.critical_path,
                bench.static_asset,
                bench.memory,
            ):
                print(f"running {step.__name__} ...", flush=True)
                step()
            results = bench.results
            edgefiles_log = edgefiles.log_text()
            print("running optimisation ...", flush=True)
            no_auth_cache = [*EDGEFILES_ARGS, "--var=AUTH_CACHE_SECONDS:0"]
            with running(ROOT / "wrangler.toml", tmp_path / "ef0", tmp_path / "ef0.log", args=no_auth_cache) as before:
                results["optimisation"] = optimisation(edgefiles, before)
        with running(BENCH / "hello_worker" / "wrangler.toml", tmp_path / "hello", tmp_path / "hello.log") as hello:
            hello_log = hello.log_text()
    ours, theirs = startup(edgefiles_log), startup(hello_log)
    results["startup"] = {
        "edgefiles": ours,
        "hello": theirs,
        "main_import_ratio": ours["main_import_ms"] / max(theirs["main_import_ms"], 1),
    }
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, BENCH / "results.png")
    print_table(results)


if __name__ == "__main__":
    main()

"""Scale benchmark (make bench-scale): what each operation costs the Worker with 1k, 10k, 100k and
1M file rows, 90% of them one heavy user's (the worst case for per-user queries), with chunks,
vectors and R2 objects up to 100k.

For each N the state is built straight into the local stores while the runtime is stopped
(bench/scale_state.py), then every operation runs ROUNDS times as the heavy user. Per operation:
median and p95 end-to-end latency; of that, the time inside the local emulators of Cloudflare's
engines (the union of the invocation's binding calls: D1, R2, KV, Vectorize, Durable Objects;
a local Vectorize is brute force, production's index is not); the Worker's own CPU ms (median)
and the isolate's memory high-water. The Worker's CPU and memory are held to 1.3x between the
smallest and largest N (growth exponent about 0); emulator time is reported, not held. Each
reconciler run must stay within its budget of binding calls.

Writes bench/scale.json and bench/scale.png (log-log). Exit status 1 if a bound does not hold.
    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000,1000000] [--rounds 15]
"""

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))
sys.path.insert(0, str(BENCH))
from scale_state import HEAVY_USER, create_stores, populate

from runtime_harness import ROOT, Runtime, running

ADMIN = "bench-admin-token-0123456789abcdef-0123"
BUDGET = 40
ARGS = [
    f"--var=ADMIN_TOKEN:{ADMIN}",
    "--var=SIGNING_KEY:bench-signing-key-0123456789abcdef",
    f"--var=RECONCILE_BUDGET:{BUDGET}",
]
BOUND = 1.3
# Below this, a difference is timer and scheduler noise rather than growth (CPU is metered in
# slices of the event loop, memory in 64 KiB WebAssembly pages).
CPU_FLOOR_MS = 1.0
MEMORY_FLOOR_MB = 1.0


def emulator_ms(trace: dict) -> float:
    """Time inside binding calls (the local engines), overlapping calls counted once."""
    spans = sorted((c["start"], c["end"]) for c in trace["calls"] if not c["sync"] and c["end"] is not None)
    total, reach = 0.0, None
    for start, end in spans:
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def measure(runtime: Runtime, call: Callable[[int], httpx.Response], rounds: int, expect: int) -> dict:
    samples = []
    for i in range(rounds + 1):
        started = time.perf_counter()
        response = call(i)
        latency = (time.perf_counter() - started) * 1000
        if response.status_code != expect:
            raise AssertionError(
                f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
            )
        trace = runtime.trace(response)
        if i == 0:
            continue  # the first round warms the isolate's code paths
        samples.append(
            {
                "latency_ms": latency,
                "emulator_ms": emulator_ms(trace),
                "cpu_ms": trace["cpu_ms"],
                "memory_mb": trace["memory_peak_bytes"] / 1e6,
                "calls": len([c for c in trace["calls"] if not c["sync"]]),
            }
        )
    latencies = sorted(s["latency_ms"] for s in samples)
    return {
        "latency_p50_ms": statistics.median(latencies),
        "latency_p95_ms": latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)],
        "emulator_p50_ms": statistics.median(s["emulator_ms"] for s in samples),
        "cpu_p50_ms": statistics.median(s["cpu_ms"] for s in samples),
        "memory_mb": max(s["memory_mb"] for s in samples),
        "calls_max": max(s["calls"] for s in samples),
    }


def run_size(n: int, workdir: Path, rounds: int) -> dict:
    state = workdir / f"n{n}"
    log = workdir / f"n{n}.log"
    key = create_stores(state, ADMIN, [HEAVY_USER], ARGS)[HEAVY_USER]
    started = time.monotonic()
    built = populate(state, n)
    build_seconds = time.monotonic() - started
    print(
        f"N={n:,}: built {built.files:,} rows, {built.chunks:,} chunks and vectors, {built.objects:,} objects"
        f" in {build_seconds:.1f} s",
        flush=True,
    )
    ops: dict[str, dict] = {}
    with running(ROOT / "wrangler.toml", state, log, args=ARGS) as runtime:
        user = httpx.Client(base_url=runtime.url, headers={"authorization": f"Bearer {key}"}, timeout=120)
        read_ids = built.heavy_files[: rounds + 1]
        delete_ids = built.heavy_files[-(rounds + 1) :]
        code = next(iter(built.heavy_codes.values()))

        def search(mode: str) -> Callable[[int], httpx.Response]:
            return lambda i: user.get("/api/search", params={"q": f"{code} quarterly budget", "mode": mode})

        plan: list[tuple[str, Callable[[int], httpx.Response], int]] = [
            ("list page", lambda i: user.get("/api/files", params={"limit": 50}), 200),
            ("metadata (uncached)", lambda i: user.get(f"/api/files/{read_ids[i]}"), 200),
            ("metadata (cached)", lambda i: user.get(f"/api/files/{read_ids[i]}"), 200),
            ("search keyword", search("keyword"), 200),
            ("search semantic", search("semantic"), 200),
            ("search hybrid", search("hybrid"), 200),
            ("stats", lambda i: user.get("/api/stats"), 200),
            ("delete", lambda i: user.delete(f"/api/files/{delete_ids[i]}"), 204),
            (
                "upload",
                lambda i: user.put(
                    f"/api/files/scale-{i}.txt",
                    content=b"quarterly budget notes " * 40,
                    headers={"content-type": "text/plain"},
                ),
                201,
            ),
        ]
        for name, call, expect in plan:
            ops[name] = measure(runtime, call, rounds, expect)
            print(
                f"  {name:<20} cpu {ops[name]['cpu_p50_ms']:6.1f} ms  latency {ops[name]['latency_p50_ms']:8.1f} ms",
                flush=True,
            )
        reconcile = measure(runtime, lambda i: runtime.client.get("/__scheduled"), max(3, rounds // 3), 200)
        ops["reconciler run"] = reconcile
        user.close()
    return {"n": n, "build_seconds": build_seconds, "chunks": built.chunks, "objects": built.objects, "ops": ops}


def exponent(small: float, large: float, n_small: int, n_large: int) -> float:
    if small <= 0 or large <= 0:
        return 0.0
    return math.log(large / small) / math.log(n_large / n_small)


def within(small: float, large: float, floor: float) -> bool:
    return large <= max(small, floor) * BOUND


def report(results: list[dict]) -> bool:
    first, last = results[0], results[-1]
    ok = True
    print(f"\nPer operation, heavy user (90% of N): N = {', '.join(f'{r["n"]:,}' for r in results)}")
    header = "| operation | metric | " + " | ".join(f"N={r['n']:,}" for r in results) + " | exponent | bound |"
    print(header)
    print("|" + "---|" * (len(results) + 4))
    for name in first["ops"]:
        for metric, floor in (
            ("cpu_p50_ms", CPU_FLOOR_MS),
            ("memory_mb", MEMORY_FLOOR_MB),
            ("latency_p50_ms", None),
            ("latency_p95_ms", None),
            ("emulator_p50_ms", None),
        ):
            values = [r["ops"][name][metric] for r in results]
            slope = exponent(values[0], values[-1], first["n"], last["n"])
            if floor is None or name == "reconciler run":  # held to its budget of calls instead
                verdict = "reported"
            else:
                held = within(values[0], values[-1], floor)
                ok &= held
                verdict = f"≤{BOUND}x ✔" if held else f">{BOUND}x ✘"
            cells = " | ".join(f"{v:.1f}" for v in values)
            print(f"| {name} | {metric} | {cells} | {slope:+.2f} | {verdict} |")
    for r in results:
        calls = r["ops"]["reconciler run"]["calls_max"]
        held = calls <= BUDGET
        ok &= held
        mark = "✔" if held else "✘"
        print(f"reconciler at N={r['n']:,}: at most {calls} binding calls per run (budget {BUDGET}) {mark}")
    print(f"state for N={last['n']:,} built in {last['build_seconds']:.0f} s")
    return ok


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["n"] for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    for axis, metric, title in (
        (axes[0], "cpu_p50_ms", "Worker CPU ms (median)"),
        (axes[1], "memory_mb", "isolate memory high-water MB"),
        (axes[2], "latency_p50_ms", "end-to-end latency ms (median, incl. local engines)"),
    ):
        for name in results[0]["ops"]:
            axis.plot(sizes, [max(r["ops"][name][metric], 0.05) for r in results], marker="o", label=name)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("file rows (N)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", default=str(BENCH / "scale.json"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="edgefiles-scale-") as tmp:
        for n in sizes:
            results.append(run_size(n, Path(tmp), args.rounds))
    ok = report(results)
    out = Path(args.out)
    out.write_text(json.dumps({"bound": BOUND, "budget": BUDGET, "results": results}, indent=2) + "\n")
    plot(results, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

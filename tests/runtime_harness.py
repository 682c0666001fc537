"""Starts and stops the local runtime (runtime/bin/pyworker-dev.mjs) for tests.

Tests speak HTTP to it: the Worker runs on Pyodide, its bindings on miniflare; nothing here
replaces either.
"""

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "runtime" / "bin" / "pyworker-dev.mjs"


def _node_flags() -> list[str]:
    """The flag that gives Node WebAssembly stack switching, where it is not on by default
    (runtime/lib/jspi.mjs). Given here, the runtime need not restart itself to get it, so the
    process a test watches (its memory, its signals) is the runtime's own."""
    probe = "import { nodeFlagsForJspi } from './runtime/lib/jspi.mjs'; console.log(nodeFlagsForJspi().join(' '))"
    result = subprocess.run(
        ["node", "--input-type=module", "-e", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.split()


NODE_FLAGS = _node_flags()
# edgefiles' wrangler.toml (and copies of it) search this Vectorize index.
VECTORIZE_INDEX_LINE = 'index_name = "edgefiles-chunks"'
START_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Polls until `predicate` returns something truthy, and returns it; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Runtime:
    """One running local runtime process."""

    config: Path
    persist_to: Path
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    # Test mode adds the control routes (/__runtime/..., /__scheduled); off, it runs as `make dev` does.
    test_mode: bool = True
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    client: httpx.Client | None = None
    log_file: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> "Runtime":
        if VECTORIZE_INDEX_LINE in self.config.read_text():
            # As `make dev` does: the index exists before the Worker uses it (production's is
            # created once per account by `scripts/vectorize-index remote`).
            subprocess.run(
                [str(ROOT / "scripts" / "vectorize-index"), "local", str(self.persist_to)],
                cwd=ROOT,
                check=True,
                capture_output=True,
                timeout=60,
            )
        self.port = free_port()
        env = {**os.environ, **self.extra_env}
        command = ["node", *NODE_FLAGS, str(CLI), "--config", str(self.config), "--port", str(self.port)]
        command += [
            "--persist-to",
            str(self.persist_to),
            *(["--test-mode"] if self.test_mode else []),
            *self.extra_args,
        ]
        self.log_file = self.log_path.open("ab")
        # Its own process group, so a test can kill the runtime together with its workerd child.
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self.client = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runtime exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if self.client.get("/__runtime/health" if self.test_mode else "/health").status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"runtime did not become ready in {START_TIMEOUT_SECONDS}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            # Whatever is left of the group (workerd, if node died without stopping it).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.log_file is not None:
            self.log_file.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # Test-mode control routes --------------------------------------------------------------

    def trace(self, response: httpx.Response) -> dict[str, Any]:
        trace_id = response.headers["x-pyworker-trace-id"]
        reply = self.client.get(f"/__runtime/traces/{trace_id}")
        reply.raise_for_status()
        return reply.json()

    def arm_fault(self, target: str, count: int = 1, skip: int = 0) -> None:
        body = {"target": target, "count": count, "skip": skip}
        self.client.post("/__runtime/faults", json=body).raise_for_status()

    def clear_faults(self) -> None:
        self.client.delete("/__runtime/faults").raise_for_status()

    @contextlib.contextmanager
    def fault(self, target: str, count: int = 1, skip: int = 0) -> Iterator[None]:
        """After `skip` calls, the next `count` calls of `target` ("BINDING.method") fail while the
        block runs."""
        self.arm_fault(target, count, skip)
        try:
            yield
        finally:
            self.clear_faults()

    def traces(self, kind: str, since_ms: int = 0) -> list[dict[str, Any]]:
        """Traces of one kind, oldest first; with `since_ms` (epoch ms) only those begun since."""
        reply = self.client.get("/__runtime/traces", params={"kind": kind, "since": since_ms})
        reply.raise_for_status()
        return reply.json()

    def reconcile_until_caught_up(self, at_ms: int | None = None, runs: int = 300) -> int:
        """Runs the cron handler (as of `at_ms`) until the reconciler's stats and purge cursors
        have reached the newest rows, and no reservation or trash is due as of then: each run
        does a fixed budget of work, so a backlog left by earlier tests takes several. Returns how
        many runs it took."""
        from invariants import reconciler_behind

        for run in range(1, runs + 1):
            params = {} if at_ms is None else {"time": str(at_ms)}
            self.client.get("/__scheduled", params=params).raise_for_status()
            as_of = None if at_ms is None else datetime.fromtimestamp(at_ms / 1000, UTC)
            if not {"stats", "purge", "reservations", "trash"} & set(reconciler_behind(self.persist_to, as_of)):
                return run
        raise AssertionError(f"the reconciler was still behind after {runs} runs")

    def send_to_queue(self, binding: str, body: dict[str, Any]) -> None:
        self.client.post(f"/__runtime/queues/{binding}", json=body).raise_for_status()

    def rss_bytes(self) -> int:
        """Resident memory of the runtime process, read by the OS, not reported by the runtime."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("VmRSS missing from /proc status")


@contextlib.contextmanager
def running(
    config: Path, persist_to: Path, log_path: Path, args: list[str] | None = None, test_mode: bool = True, **env: str
) -> Iterator[Runtime]:
    runtime = Runtime(config, persist_to, log_path, extra_env=env, extra_args=args or [], test_mode=test_mode).start()
    try:
        yield runtime
    finally:
        runtime.stop()


def start_and_expect_failure(config: Path, persist_to: Path, log_path: Path, **env: str) -> str:
    """Starts a runtime that must refuse to start; returns what it printed."""
    command = ["node", *NODE_FLAGS, str(CLI), "--config", str(config), "--port", str(free_port())]
    command += ["--persist-to", str(persist_to)]
    full_env = {**os.environ, **env}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=full_env, check=False)
    log_path.write_text(result.stdout + result.stderr)
    assert result.returncode != 0, f"runtime started although it should not have:\n{result.stdout}{result.stderr}"
    return result.stdout + result.stderr


class PeakMemory:
    """The runtime's resident memory, sampled by the OS every 50 ms while a block runs: `growth`
    is the peak over what it held before."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime, self.baseline, self.peak = runtime, runtime.rss_bytes(), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.runtime.rss_bytes())

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline

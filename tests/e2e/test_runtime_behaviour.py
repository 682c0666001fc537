"""What the local runtime guarantees beyond plain binding calls: Durable Object semantics,
errors, tracing, fault injection, start-up diagnostics and bounded memory."""

import hashlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import PROBE_WORKER
from runtime_harness import Runtime, running, start_and_expect_failure

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024


def test_concurrent_increments_of_one_object_all_count(probe: Runtime) -> None:
    name = f"concurrent-{uuid.uuid4()}"

    def increment(_: int) -> int:
        with httpx.Client(base_url=probe.url, timeout=60) as client:
            return client.get("/do/increment", params={"name": name}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(increment, range(20)))
    assert statuses == [200] * 20
    assert probe.client.get("/do/snapshot", params={"name": name}).json()["total"] == 20


def test_durable_object_state_survives_a_restart(tmp_path: Path) -> None:
    name = f"persist-{uuid.uuid4()}"
    config = PROBE_WORKER / "wrangler.toml"
    with running(config, tmp_path / "state", tmp_path / "first.log") as runtime:
        assert runtime.client.get("/do/increment", params={"name": name, "by": 3}).json() == {"total": 3}
    with running(config, tmp_path / "state", tmp_path / "second.log") as runtime:
        assert runtime.client.get("/do/snapshot", params={"name": name}).json() == {"total": 3, "last": 3}
    assert (tmp_path / "state" / "v3" / "d1").is_dir()
    assert (tmp_path / "state" / "v3" / "do").is_dir()


def test_python_exception_is_a_500_without_the_traceback(probe: Runtime) -> None:
    response = probe.client.get("/raise")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    log = probe.log_text()
    assert "RuntimeError: secret internal detail" in log
    assert 'File "src/entry.py"' in log


@pytest.mark.parametrize(
    ("target", "path", "method"),
    [
        ("FILES.put", "/r2/fault-{id}", "PUT"),
        ("DB.run", "/d1/null", "GET"),
        ("KV.put", "/kv/fault-{id}", "PUT"),
        ("JOBS.send", "/queue?tag={id}", "GET"),
        ("COUNTER.increment", "/do/increment?name={id}", "GET"),
        ("AI.run", "/ai", "GET"),
    ],
    ids=["r2-put", "d1-run", "kv-put", "queue-send", "do-rpc", "ai-run"],
)
def test_fault_injection_fails_exactly_the_named_call(probe: Runtime, target: str, path: str, method: str) -> None:
    url = path.format(id=uuid.uuid4())
    with probe.fault(target, count=1):
        failed = probe.client.request(method, url, content=b"x" if method == "PUT" else None)
        assert failed.status_code == 500
        binding, name = target.split(".")
        calls = probe.trace(failed)["calls"]
        assert any(c["binding"] == binding and c["method"] == name and c["ok"] is False for c in calls), calls
        recovered = probe.client.request(method, url, content=b"x" if method == "PUT" else None)
        assert recovered.status_code < 300, recovered.text


def test_trace_lists_the_binding_calls_of_a_request(probe: Runtime) -> None:
    response = probe.client.get("/d1/batch")
    trace = probe.trace(response)
    round_trips = [(c["binding"], c["method"]) for c in trace["calls"] if not c["sync"]]
    assert round_trips == [("DB", "batch"), ("DB", "first")]
    local = [c["method"] for c in trace["calls"] if c["sync"]]
    assert local == ["prepare", "bind", "bind", "prepare"]
    assert all(c["end"] >= c["start"] for c in trace["calls"])


def test_a_binding_missing_from_wrangler_toml_is_named_in_one_line(probe: Runtime) -> None:
    assert probe.client.get("/missing-binding").json() == {"has": False}
    lines = [line for line in probe.log_text().splitlines() if "NOT_DECLARED" in line]
    assert len(lines) == 1
    assert "not declared" in lines[0]


def test_dev_vars_are_read_like_wrangler_dev(probe_copy: Path, tmp_path: Path) -> None:
    (probe_copy / ".dev.vars").write_text('PROBE_SECRET="from dev vars"\n')
    with running(probe_copy / "wrangler.toml", tmp_path / "state", tmp_path / "runtime.log") as runtime:
        assert runtime.client.get("/vars").json()["secret"] == "from dev vars"


def test_syntax_error_names_the_file_in_one_line(probe_copy: Path, tmp_path: Path) -> None:
    (probe_copy / "src" / "broken.py").write_text("def oops(:\n    pass\n")
    entry = probe_copy / "src" / "entry.py"
    entry.write_text("import broken  # noqa\n" + entry.read_text())
    output = start_and_expect_failure(probe_copy / "wrangler.toml", tmp_path / "state", tmp_path / "runtime.log")
    errors = [line for line in output.splitlines() if "✘" in line]
    assert len(errors) == 1
    assert "SyntaxError in src/broken.py:1" in errors[0]


def test_missing_main_module_is_one_clear_line(probe_copy: Path, tmp_path: Path) -> None:
    (probe_copy / "src" / "entry.py").unlink()
    output = start_and_expect_failure(probe_copy / "wrangler.toml", tmp_path / "state", tmp_path / "runtime.log")
    errors = [line for line in output.splitlines() if "✘" in line]
    assert len(errors) == 1
    assert "entry.py" in errors[0]


def _stream(size: int, chunk: int = MiB):
    block = bytes(range(256)) * (chunk // 256)
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        sent += len(piece)
        yield piece


def test_100_mb_upload_and_download_keep_runtime_memory_bounded(probe: Runtime) -> None:
    size = 100_000_000  # the largest body the edge passes on a Free or Pro zone
    key = f"big/{uuid.uuid4()}"
    # One small round trip first: what the first large transfer allocates once (JIT code, buffer
    # pools) is not growth caused by the file's size.
    warm = bytes(8 * MiB)
    assert probe.client.put(f"/r2/{key}-warm", content=warm).status_code == 200
    assert probe.client.get(f"/r2/{key}-warm").content == warm
    baseline = probe.rss_bytes()
    peak = baseline
    sampling = True

    def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, probe.rss_bytes())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        expected = hashlib.sha256()
        for piece in _stream(size):
            expected.update(piece)
        with httpx.Client(base_url=probe.url, timeout=300) as client:
            put = client.put(f"/r2/{key}", content=_stream(size), headers={"content-length": str(size)})
            assert put.status_code == 200, put.text
            assert put.json()["size"] == size
            got = hashlib.sha256()
            received = 0
            with client.stream("GET", f"/r2/{key}") as response:
                assert response.status_code == 200
                for piece in response.iter_bytes():
                    received += len(piece)
                    got.update(piece)
    finally:
        sampling = False
        sampler.join()
    assert received == size
    assert got.hexdigest() == expected.hexdigest()
    growth = peak - baseline
    print(f"runtime RSS growth during a 100 MB upload + download: {growth / MiB:.1f} MiB")
    assert growth < 64 * MiB, f"RSS grew by {growth / MiB:.1f} MiB"

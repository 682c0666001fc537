"""The project works with Cloudflare's own tooling offline: what wrangler would upload, and
D1 state shared with `wrangler d1 migrations apply --local`."""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import PROBE_WORKER
from runtime_harness import ROOT, running

pytestmark = pytest.mark.e2e

WRANGLER = ROOT / "node_modules" / ".bin" / "wrangler"
WRANGLER_ENV = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "true", "NO_COLOR": "1"}


def wrangler(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WRANGLER), *args], cwd=cwd, env=WRANGLER_ENV, capture_output=True, text=True, timeout=120, check=True
    )


def test_deploy_dry_run_uploads_only_src_modules_and_lists_every_binding(tmp_path: Path) -> None:
    outdir = tmp_path / "dist"
    result = wrangler("deploy", "--dry-run", "--outdir", str(outdir), cwd=ROOT)
    uploaded = {p.relative_to(outdir).as_posix() for p in outdir.rglob("*") if p.is_file()} - {"README.md"}
    expected = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src").rglob("*.py")}
    assert uploaded == expected
    for binding in ["env.DB", "env.STORAGE", "env.CACHE", "env.QUEUE", "env.AI", "env.USER_STATS"]:
        assert binding in result.stdout, f"{binding} missing from:\n{result.stdout}"


def test_runtime_shares_d1_state_with_wrangler_migrations(tmp_path: Path) -> None:
    state = tmp_path / "state"
    wrangler("d1", "migrations", "apply", "DB", "--local", "--persist-to", str(state), cwd=PROBE_WORKER)
    with running(PROBE_WORKER / "wrangler.toml", state, tmp_path / "runtime.log") as runtime:
        assert runtime.client.get("/d1/null").json() == {"is_null": 1, "type": "null"}
        log = runtime.log_text()
    assert "D1 migrations for DB" in log
    assert "applied 0001_events.sql" not in log, "the runtime re-applied what wrangler had applied"

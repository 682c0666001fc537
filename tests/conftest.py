import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from api_client import ADMIN_TOKEN, MAX_FILE_SIZE, SIGNING_KEY, UserFactory
from runtime_harness import ROOT, Runtime, running

PROBE_WORKER = ROOT / "tests" / "probe_worker"


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The runtime serving the probe Worker (tests/probe_worker), started once per session."""
    state = tmp_path_factory.mktemp("probe-state")
    with running(PROBE_WORKER / "wrangler.toml", state, state / "runtime.log") as runtime:
        yield runtime


@pytest.fixture(scope="session")
def edgefiles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The runtime serving edgefiles itself (./wrangler.toml), started once per session.

    Secrets come as --var, like `wrangler dev --var`; MAX_FILE_SIZE is lowered so the size limit
    can be tested without sending 100 MB.
    """
    state = tmp_path_factory.mktemp("edgefiles-state")
    args = [
        f"--var=ADMIN_TOKEN:{ADMIN_TOKEN}",
        f"--var=SIGNING_KEY:{SIGNING_KEY}",
        f"--var=MAX_FILE_SIZE:{MAX_FILE_SIZE}",
        # Fast retries, and a reconciler that repairs at once rather than after ten minutes.
        "--var=RETRY_BASE_SECONDS:1",
        "--var=RECONCILE_GRACE_MINUTES:0",
    ]
    with running(ROOT / "wrangler.toml", state, state / "runtime.log", args=args) as runtime:
        yield runtime


@pytest.fixture
def users(edgefiles: Runtime) -> Iterator[UserFactory]:
    """Mints API keys for fresh users; each test owns its users and their files."""
    factory = UserFactory(edgefiles)
    yield factory
    factory.close()


@pytest.fixture
def probe_copy(tmp_path: Path) -> Path:
    """A private copy of the probe Worker that a test may break or extend."""
    target = tmp_path / "worker"
    shutil.copytree(PROBE_WORKER, target)
    return target

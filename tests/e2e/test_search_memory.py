"""Search over a user's whole corpus keeps the isolate's memory flat: chunks are read a page at a
time, embeddings cross from D1 as text (not as a list of numbers per byte) and are compared in C.
Before, 5,000 chunks took the isolate from 21 to 156 MB, over the 128 MB limit (error 1102)."""

import random
from collections.abc import Iterator

import pytest

from api_client import ADMIN_TOKEN, SIGNING_KEY, UserFactory, settled, upload
from runtime_harness import ROOT, Runtime, running

pytestmark = pytest.mark.e2e

FILES = 21  # 48 chunks each (64 KB of text read, 1,200 characters a chunk): 1,008 chunks
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma", "omega"]


@pytest.fixture(scope="module")
def quiet_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime of its own: the isolate's memory high-water mark is this module's alone."""
    state = tmp_path_factory.mktemp("search-memory")
    # A scan cap below the corpus, so the answer must say it is truncated.
    args = [f"--var=ADMIN_TOKEN:{ADMIN_TOKEN}", f"--var=SIGNING_KEY:{SIGNING_KEY}", "--var=SEARCH_MAX_CHUNKS:750"]
    with running(ROOT / "wrangler.toml", state, state / "runtime.log", args=args) as runtime:
        yield runtime


def test_searching_a_thousand_chunks_leaves_the_isolates_memory_flat(quiet_runtime: Runtime) -> None:
    users = UserFactory(quiet_runtime)
    try:
        user = users.new()
        rng = random.Random(7)
        ids = []
        for i in range(FILES):
            text = " ".join(f"{rng.choice(WORDS)}{rng.randint(0, 99)}" for _ in range(9000))[: 64 * 1024]
            ids.append(upload(user, f"notes-{i}.txt", text.encode()).json()["id"])
        assert all(settled(user, file_id, timeout=120)["ai_analysis"]["chunks"] == 48 for file_id in ids)
        # The isolate's memory before any search: the WebAssembly heap never shrinks, so this is
        # the high-water mark of everything so far (the uploads, the consumer's work).
        before = quiet_runtime.trace(user.client.get("/api/stats"))["memory_peak_bytes"]
        response = user.client.get("/api/search", params={"q": "alpha1 sigma42 omega7", "limit": 50})
        assert response.status_code == 200
        # 750 of 1,008 chunks scanned: 16 of the 21 files, and the answer says so.
        assert len(response.json()["results"]) == 16
        assert response.json()["truncated"] is True
        grown = quiet_runtime.trace(response)["memory_peak_bytes"] - before
        assert grown < 10_000_000, f"the isolate grew by {grown / 1e6:.1f} MB"
    finally:
        users.close()

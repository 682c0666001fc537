"""Search is complete over a corpus larger than any scan the Worker could afford, scoped to the
caller, and costs the Worker the same memory whatever the corpus: 9,600 chunks (the old search
scanned at most 5,000 and said "truncated"; before that, 5,000 chunks took the isolate over its
128 MB), built straight into the stores by bench/scale_state.py, plus one file uploaded for real."""

import sys
from collections.abc import Iterator

import httpx
import pytest

from api_client import ADMIN_TOKEN, SIGNING_KEY, User, settled
from runtime_harness import ROOT, Runtime, running, wait_for

sys.path.insert(0, str(ROOT / "bench"))
from scale_state import HEAVY_USER, LIGHT_USERS, create_stores, populate

pytestmark = pytest.mark.e2e

ROWS = 8000  # 60% text files with two chunks each: 9,600 chunks and vectors
ARGS = [f"--var=ADMIN_TOKEN:{ADMIN_TOKEN}", f"--var=SIGNING_KEY:{SIGNING_KEY}", "--vectorize-delay-ms=200"]


class Corpus:
    def __init__(self, runtime: Runtime, keys: dict[str, str], built) -> None:
        self.runtime = runtime
        self.keys = keys
        self.built = built

    def search(self, user: str, q: str, mode: str = "hybrid", limit: int = 10) -> dict:
        response = self.runtime.client.get(
            "/api/search",
            params={"q": q, "mode": mode, "limit": limit},
            headers={"authorization": f"Bearer {self.keys[user]}"},
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    state = tmp_path_factory.mktemp("search-scale")
    keys = create_stores(state, ADMIN_TOKEN, [HEAVY_USER, LIGHT_USERS[0]], ARGS)
    built = populate(state, ROWS)
    assert built.chunks > 5000
    with running(ROOT / "wrangler.toml", state, state / "second.log", args=ARGS) as runtime:
        yield Corpus(runtime, keys, built)


def test_keyword_search_finds_an_exact_code_anywhere_in_the_corpus(corpus: Corpus) -> None:
    # The last text file the heavy user has: whatever order a scan took, it would come last.
    file_id, code = list(corpus.built.heavy_codes.items())[-1]
    found = corpus.search(HEAVY_USER, code, mode="keyword")
    assert [r["file"]["id"] for r in found["results"]][:1] == [file_id]
    assert code in found["results"][0]["snippet"]


def test_semantic_search_ranks_the_closest_chunk_first_among_thousands(corpus: Corpus) -> None:
    text = b"The lighthouse keeper's logbook records every storm of the winter of 1911."
    key = corpus.keys[HEAVY_USER]
    with httpx.Client(base_url=corpus.runtime.url, headers={"authorization": f"Bearer {key}"}, timeout=60) as client:
        uploaded = client.put("/api/files/logbook.txt", content=text, headers={"content-type": "text/plain"}).json()
        settled(User(HEAVY_USER, key, key[:15], client), uploaded["id"])
    query = text.decode()
    # Visible within the runtime's delay (production: "a few seconds"), then first of 9,600 chunks.
    wait_for(
        lambda: (
            [r["file"]["id"] for r in corpus.search(HEAVY_USER, query, mode="semantic")["results"]][:1]
            == [uploaded["id"]]
        ),
        what="the new file to rank first",
    )


def test_results_are_the_callers_own(corpus: Corpus) -> None:
    heavy_ids = set(corpus.built.heavy_files)
    for mode in ("keyword", "semantic", "hybrid"):
        light = corpus.search(LIGHT_USERS[0], "invoice report budget", mode=mode, limit=50)["results"]
        assert light, mode
        assert not {r["file"]["id"] for r in light} & heavy_ids, mode
    code = next(iter(corpus.built.heavy_codes.values()))
    assert corpus.search(LIGHT_USERS[0], code, mode="keyword")["results"] == []


def test_searching_the_whole_corpus_leaves_the_isolates_memory_flat(corpus: Corpus) -> None:
    headers = {"authorization": f"Bearer {corpus.keys[HEAVY_USER]}"}
    before = corpus.runtime.trace(corpus.runtime.client.get("/api/stats", headers=headers))["memory_peak_bytes"]
    for mode in ("keyword", "semantic", "hybrid"):
        response = corpus.runtime.client.get(
            "/api/search", params={"q": "quarterly budget review", "mode": mode, "limit": 50}, headers=headers
        )
        assert response.status_code == 200
        grown = corpus.runtime.trace(response)["memory_peak_bytes"] - before
        assert grown < 5_000_000, f"{mode}: the isolate grew by {grown / 1e6:.1f} MB"

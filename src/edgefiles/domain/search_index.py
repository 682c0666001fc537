"""How chunks are named in the search indexes, how a user's words become a keyword query, and
how the two ranked lists become one. Pure: the Worker and the CPython unit tests share it.

- Vectorize ids are derived from the file and the chunk (`<file id>:<chunk index>`), so a retried
  consumer upserts the same ids, and a file's vectors are deleted by naming them: ids 0 to its
  chunk count - 1 (at most text_chunks.MAX_CHUNKS: the longest id is 39 of the 64 bytes allowed).
- A keyword query is an FTS5 expression: the owner's token AND any of the user's words in the
  text (a column filter, so no word matches the owner column), each word quoted as a phrase
  (FTS5 tokenises it as it tokenised the text, so "INV-2026-0042" matches those three tokens in
  a row, and no operator syntax from the user is ever interpreted).
- Hybrid ranking is reciprocal rank fusion (Cormack et al., 2009): a file scores sum(1 / (k +
  rank)) over the lists it appears in, with its best chunk's rank in each. It needs no score
  calibration between BM25 and cosine similarity.
"""

import re
from collections.abc import Iterable, Sequence

RRF_K = 60
MAX_QUERY_WORDS = 16
MAX_WORD_CHARS = 64
_WORD_CHARACTER = re.compile(r"\w")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def vector_id(file_id: str, chunk_index: int) -> str:
    return f"{file_id}:{chunk_index}"


def parse_vector_id(value: str) -> tuple[str, int] | None:
    file_id, _, index = value.rpartition(":")
    if not file_id or not index.isascii() or not index.isdigit():
        return None
    return file_id, int(index)


def owner_token(user_id: str) -> str:
    """The owner as one FTS5 token; the same expression as the `owner` column of `chunks`."""
    return "u" + user_id.encode().hex()


def keyword_expression(user_id: str, text: str) -> str | None:
    """The FTS5 MATCH expression for the caller's words; None when no word can match anything."""
    phrases: list[str] = []
    for whole in _CONTROL.sub(" ", text).split():
        word = whole[:MAX_WORD_CHARS]
        if not _WORD_CHARACTER.search(word):
            continue  # punctuation alone has no tokens
        phrase = '"' + word.replace('"', '""') + '"'
        if phrase not in phrases:
            phrases.append(phrase)
        if len(phrases) == MAX_QUERY_WORDS:
            break
    if not phrases:
        return None
    return f"owner:{owner_token(user_id)} AND content:({' OR '.join(phrases)})"


def best_rank_per_file(file_ids: Iterable[str]) -> dict[str, int]:
    """A list of chunk hits (best first) as each file's best rank, from 1."""
    ranks: dict[str, int] = {}
    for file_id in file_ids:
        ranks.setdefault(file_id, len(ranks) + 1)
    return ranks


def fuse(rankings: Sequence[dict[str, int]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of per-file ranks: best first, ties by file id."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for file_id, rank in ranking.items():
            scores[file_id] = scores.get(file_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))

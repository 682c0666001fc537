"""Embeddings stored compactly (float32 blobs) and compared by cosine similarity.

The arithmetic runs in C (`math.sumprod`, `math.hypot` over an `array`), never as a Python loop
over a vector's elements: 5,000 chunks of 768 dimensions would otherwise cost seconds of CPU.
"""

import math
from array import array
from collections.abc import Iterable, Sequence


def pack(vector: Sequence[float]) -> bytes:
    return array("f", vector).tobytes()


def unpack(blob: bytes) -> array:
    values = array("f")
    values.frombytes(blob)
    return values


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise ValueError("vectors of different lengths")
    norm = math.hypot(*a) * math.hypot(*b)
    return 0.0 if norm == 0 else math.sumprod(a, b) / norm


class BestChunks:
    """Each file's best chunk for one query, fed page by page: memory holds one entry per file,
    never all the chunks."""

    def __init__(self, query: Sequence[float]) -> None:
        self._query = array("f", query)
        self._query_norm = math.hypot(*self._query)
        self._best: dict[str, tuple[float, str]] = {}

    def add(self, chunks: Iterable[tuple[str, str, bytes]]) -> None:
        for file_id, content, blob in chunks:
            vector = unpack(blob)
            if len(vector) != len(self._query):
                continue  # embedded by another model: not comparable
            norm = self._query_norm * math.hypot(*vector)
            score = 0.0 if norm == 0 else math.sumprod(self._query, vector) / norm
            if file_id not in self._best or score > self._best[file_id][0]:
                self._best[file_id] = (score, content)

    def top(self, limit: int) -> list[tuple[str, float, str]]:
        """[(file_id, score, best chunk)], best first."""
        ranked = sorted(self._best.items(), key=lambda item: item[1][0], reverse=True)
        return [(file_id, score, content) for file_id, (score, content) in ranked[:limit]]


def rank_files(
    query: Sequence[float], chunks: list[tuple[str, str, bytes]], limit: int
) -> list[tuple[str, float, str]]:
    """[(file_id, score, best chunk)], best first. `chunks` is [(file_id, content, embedding blob)];
    a file scores as its best chunk."""
    best = BestChunks(query)
    best.add(chunks)
    return best.top(limit)

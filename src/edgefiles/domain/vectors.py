"""Embeddings stored compactly (float32 blobs) and compared by cosine similarity."""

import math
from array import array
from collections.abc import Sequence


def pack(vector: Sequence[float]) -> bytes:
    return array("f", vector).tobytes()


def unpack(blob: bytes) -> array:
    values = array("f")
    values.frombytes(blob)
    return values


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return 0.0 if norm == 0 else dot / norm


def rank_files(
    query: Sequence[float], chunks: list[tuple[str, str, bytes]], limit: int
) -> list[tuple[str, float, str]]:
    """[(file_id, score, best chunk)], best first. `chunks` is [(file_id, content, embedding blob)];
    a file scores as its best chunk."""
    best: dict[str, tuple[float, str]] = {}
    for file_id, content, blob in chunks:
        score = cosine(query, unpack(blob))
        if file_id not in best or score > best[file_id][0]:
            best[file_id] = (score, content)
    ranked = sorted(best.items(), key=lambda item: item[1][0], reverse=True)
    return [(file_id, score, content) for file_id, (score, content) in ranked[:limit]]

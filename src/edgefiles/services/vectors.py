"""Chunk embeddings in Vectorize (the VECTORS binding: one index, 768 dimensions, cosine, with a
metadata index on `owner`; scripts/vectorize-index creates it).

Writes are asynchronous in Vectorize: an upsert or delete answers at once and is visible to
queries a few seconds later. Search therefore joins what the index returns with the live rows in
D1, so a deleted file never shows up even while its vectors are still being removed.
"""

from typing import Any

from edgefiles.domain.search_index import parse_vector_id, vector_id

# Vectors (or ids) per call through the Workers binding (developers.cloudflare.com/vectorize/
# platform/limits: upsert batch 1000 via Workers).
BATCH = 1000


class ChunkVectors:
    def __init__(self, index: Any) -> None:
        self._index = index

    async def upsert(self, user_id: str, file_id: str, embeddings: list[tuple[int, list[float]]]) -> None:
        await self.upsert_chunks([(user_id, file_id, index, values) for index, values in embeddings])

    async def upsert_chunks(self, chunks: list[tuple[str, str, int, list[float]]]) -> None:
        """Upserts (owner, file id, chunk index, embedding) as the chunks' vectors."""
        vectors = [
            {"id": vector_id(file_id, index), "values": values, "metadata": {"owner": user_id, "file": file_id}}
            for user_id, file_id, index, values in chunks
        ]
        for start in range(0, len(vectors), BATCH):
            await self._index.upsert(vectors[start : start + BATCH])

    async def delete_files(self, files: list[tuple[str, int]]) -> None:
        """Deletes the vectors of each (file id, chunk count)."""
        await self.delete_ids([vector_id(file_id, index) for file_id, count in files for index in range(count)])

    async def delete_ids(self, ids: list[str]) -> None:
        for start in range(0, len(ids), BATCH):
            await self._index.deleteByIds(ids[start : start + BATCH])

    async def nearest(self, user_id: str, vector: list[float], top_k: int) -> list[tuple[str, int, float]]:
        """The caller's chunks nearest to `vector`, best first: [(file_id, chunk_index, score)]."""
        result = await self._index.query(vector, {"topK": top_k, "filter": {"owner": user_id}})
        hits = []
        for match in result["matches"]:
            parsed = parse_vector_id(match["id"])
            if parsed is not None:
                hits.append((parsed[0], parsed[1], float(match["score"])))
        return hits

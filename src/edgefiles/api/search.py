"""/api/search: the caller's text files ranked by semantic similarity to a query.

The query is embedded with the same model as the files' chunks (bge-base-en-v1.5); each file
scores as its best chunk (cosine similarity)."""

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.files import public_view
from edgefiles.api.responses import json_response
from edgefiles.domain import validation
from edgefiles.domain.problems import Problem
from edgefiles.domain.vectors import rank_files

MAX_QUERY_CHARS = 500
MAX_CHUNKS_SCANNED = 5000
SNIPPET_CHARS = 200


async def search(ctx: RequestContext) -> Response:
    query = (ctx.query.get("q") or "").strip()
    if not query:
        raise Problem(400, "q is required")
    if len(query) > MAX_QUERY_CHARS:
        raise Problem(400, f"q is limited to {MAX_QUERY_CHARS} characters")
    limit = validation.page_limit(ctx.query.get("limit"), default=10, maximum=50)
    chunks = await ctx.services.records.chunks_of(ctx.user_id, MAX_CHUNKS_SCANNED)
    if not chunks:
        return json_response({"query": query, "results": []})
    [vector] = await ctx.services.ai.embed([query])
    ranked = rank_files(vector, chunks, limit)
    files = await ctx.services.records.get_many(ctx.user_id, [file_id for file_id, _, _ in ranked])
    results = [
        {"file": public_view(files[file_id]), "score": round(score, 4), "snippet": content[:SNIPPET_CHARS]}
        for file_id, score, content in ranked
        if file_id in files
    ]
    return json_response({"query": query, "results": results})

"""/api/search: the caller's text files ranked by semantic similarity to a query.

The query is embedded with the same model as the files' chunks (EMBEDDING_MODEL); each file
scores as its best chunk (cosine similarity). Chunks are read and scored a page at a time, so the
isolate holds one page and one best chunk per file, not the corpus (the scale issue moves search
to Vectorize; until then at most MAX_CHUNKS_SCANNED chunks are scanned)."""

import logging

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.files import public_view
from edgefiles.api.responses import json_response
from edgefiles.domain import validation
from edgefiles.domain.models import ModelUnavailable
from edgefiles.domain.problems import Problem
from edgefiles.domain.vectors import BestChunks
from edgefiles.services.container import int_var

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_CHUNKS_SCANNED = 5000  # SEARCH_MAX_CHUNKS lowers it (a test does)
CHUNK_PAGE = 250
SNIPPET_CHARS = 200


async def search(ctx: RequestContext) -> Response:
    query = (ctx.query.get("q") or "").strip()
    if not query:
        raise Problem(400, "q is required")
    if len(query) > MAX_QUERY_CHARS:
        raise Problem(400, f"q is limited to {MAX_QUERY_CHARS} characters")
    limit = validation.page_limit(ctx.query.get("limit"), default=10, maximum=50)
    page = await ctx.services.records.chunk_page(ctx.user_id, None, CHUNK_PAGE)
    if not page:
        return json_response({"query": query, "results": [], "truncated": False})
    try:
        [vector] = await ctx.services.ai.embed([query])
    except ModelUnavailable as error:
        logger.error("search: %s", error.operator_message)  # the client gets a plain 503
        raise Problem(503, "Search is unavailable right now; try again later") from None
    best = BestChunks(vector)
    # SEARCH_MAX_CHUNKS may lower the scan cap, never raise it (0 or unset: the cap).
    lowered = int_var(ctx.env, "SEARCH_MAX_CHUNKS", MAX_CHUNKS_SCANNED) or MAX_CHUNKS_SCANNED
    max_chunks = min(lowered, MAX_CHUNKS_SCANNED)
    scanned, truncated = 0, False
    while page:
        best.add((file_id, content, blob) for file_id, _, content, blob in page)
        scanned += len(page)
        if len(page) < CHUNK_PAGE:
            break
        if scanned >= max_chunks:
            truncated = True  # said in the answer: these results are not from every file
            break
        last_file, last_index, _, _ = page[-1]
        page = await ctx.services.records.chunk_page(ctx.user_id, (last_file, last_index), CHUNK_PAGE)
    ranked = best.top(limit)
    files = await ctx.services.records.get_many(ctx.user_id, [file_id for file_id, _, _ in ranked])
    results = [
        {"file": public_view(files[file_id]), "score": round(score, 4), "snippet": content[:SNIPPET_CHARS]}
        for file_id, score, content in ranked
        if file_id in files
    ]
    return json_response({"query": query, "results": results, "truncated": truncated})

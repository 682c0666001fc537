"""/api/search: the caller's text files ranked for a query, over every file they have.

Two engines answer, each over the caller's whole corpus and each returning only its best
candidates, so the Worker's work does not grow with the corpus:
- semantic: the query's embedding (EMBEDDING_MODEL) against the chunks' vectors in Vectorize,
  filtered to the caller by the `owner` metadata index;
- keyword: SQLite FTS5 over the chunks' text in D1 (BM25), restricted to the caller inside the
  full-text index, so exact names, codes and numbers are found when embeddings miss them.
`mode=hybrid` (the default) fuses the two lists by reciprocal rank; `semantic` or `keyword` uses
one. Every hit is joined with the caller's live rows in D1, so a file deleted a moment ago (whose
vectors Vectorize is still removing) never appears. If Workers AI or Vectorize fails (a refused
model, a rate limit, an outage), hybrid answers from keywords alone and says so in `modes`;
semantic answers 503. The query's embedding is one AI call of the user's daily budget: once it
is used up, hybrid answers from keywords alone and semantic answers 429.
"""

import logging

from workers import Response

from edgefiles.api.context import RequestContext
from edgefiles.api.files import public_view
from edgefiles.api.responses import json_response
from edgefiles.domain import validation
from edgefiles.domain.models import ModelUnavailable
from edgefiles.domain.problems import Problem
from edgefiles.domain.search_index import best_rank_per_file, fuse, keyword_expression
from edgefiles.services import ai_budget

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
# Chunks asked of each engine: enough to fill the largest page with distinct files most of the
# time, and within Vectorize's topK (100 without values or full metadata).
CANDIDATES = 100
SNIPPET_CHARS = 200
MODES = ("hybrid", "semantic", "keyword")
# Extra candidates read from D1, for hits whose file was deleted a moment ago (the largest page
# plus these stays under D1's 100 bound parameters per statement).
DELETED_ALLOWANCE = 20


async def search(ctx: RequestContext) -> Response:
    query = (ctx.query.get("q") or "").strip()
    if not query:
        raise Problem(400, "q is required")
    if len(query) > MAX_QUERY_CHARS:
        raise Problem(400, f"q is limited to {MAX_QUERY_CHARS} characters")
    limit = validation.page_limit(ctx.query.get("limit"), default=10, maximum=50)
    mode = ctx.query.get("mode") or "hybrid"
    if mode not in MODES:
        raise Problem(400, f"mode must be one of {', '.join(MODES)}")
    await ctx.services.rate_limits.check("search", ctx.user_id)

    used: list[str] = []
    snippets: dict[str, str] = {}
    best_chunk: dict[str, int] = {}
    rankings: dict[str, dict[str, int]] = {}
    if mode != "semantic":
        expression = keyword_expression(ctx.user_id, query)
        try:
            hits = await ctx.services.records.keyword_hits(expression, CANDIDATES) if expression else []
        except Exception:
            logger.exception("search: the keyword query failed")
            raise Problem(503, "Search is temporarily unavailable; try again later") from None
        for file_id, _, snippet in hits:
            snippets.setdefault(file_id, snippet[:SNIPPET_CHARS])
        rankings["keyword"] = best_rank_per_file(file_id for file_id, _, _ in hits)
        used.append("keyword")
    semantic = mode != "keyword"
    if mode == "semantic":
        await ai_budget.charge_request(ctx.services, ctx.user_id, ctx.request_id)
    elif semantic and not await ai_budget.charge(ctx.services, ctx.user_id, ctx.request_id, 1):
        semantic = False  # the day's AI budget is used up: keywords alone
    if semantic:
        try:
            [vector] = await ctx.services.ai.embed([query])
            hits = await ctx.services.vectors.nearest(ctx.user_id, vector, CANDIDATES)
        except Exception as error:
            # A refused model, a rate limit, a 5xx from Workers AI or Vectorize: the client gets
            # no internals; hybrid answers from keywords alone and says so in `modes`.
            if isinstance(error, ModelUnavailable):
                logger.error("search: %s", error.operator_message)
            else:
                logger.exception("search: the semantic half failed")
            if mode == "semantic":
                raise Problem(503, "Semantic search is unavailable right now; try again later") from None
        else:
            for file_id, index, _ in hits:
                best_chunk.setdefault(file_id, index)
            rankings["semantic"] = best_rank_per_file(file_id for file_id, _, _ in hits)
            used.append("semantic")

    ranked = fuse(list(rankings.values()))[: limit + DELETED_ALLOWANCE]
    files = await ctx.services.records.get_many(ctx.user_id, [file_id for file_id, _ in ranked])
    top = [(file_id, score) for file_id, score in ranked if file_id in files][:limit]
    missing = [(file_id, best_chunk[file_id]) for file_id, _ in top if file_id not in snippets]
    openings = await ctx.services.records.chunk_openings(ctx.user_id, missing, SNIPPET_CHARS)
    results = [
        {
            "file": public_view(files[file_id]),
            "score": round(score, 6),
            "matched": [engine for engine, ranking in rankings.items() if file_id in ranking],
            "snippet": snippets.get(file_id) or openings.get((file_id, best_chunk.get(file_id, -1)), ""),
        }
        for file_id, score in top
    ]
    return json_response({"query": query, "mode": mode, "modes": used, "results": results})

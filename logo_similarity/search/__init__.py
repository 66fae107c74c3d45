"""The one query path (stage 1 retrieval, stage 2 re-ranking), shared by the API, the CLI, the demo and eval."""

from logo_similarity.search.query import (
    Query,
    QueryError,
    QueryOutcome,
    crop_box,
    embed_query,
    run_queries,
    run_query,
    search_image,
)

__all__ = ["Query", "QueryError", "QueryOutcome", "crop_box", "embed_query", "run_queries", "run_query", "search_image"]

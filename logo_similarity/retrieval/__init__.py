from logo_similarity.retrieval.build import BuildReport, build_index, embed_records, write_rejects
from logo_similarity.retrieval.index import (
    Hits,
    IndexMismatchError,
    IndexNotFoundError,
    SearchIndex,
)
from logo_similarity.retrieval.query import search_image
from logo_similarity.retrieval.search import SearchResult, embed_query, search_names

__all__ = [
    "BuildReport",
    "Hits",
    "IndexMismatchError",
    "IndexNotFoundError",
    "SearchIndex",
    "SearchResult",
    "build_index",
    "embed_query",
    "embed_records",
    "search_image",
    "search_names",
    "write_rejects",
]

from logo_similarity.retrieval.build import BuildReport, build_index, build_with_settings, embed_records, write_rejects
from logo_similarity.retrieval.index_errors import CorruptIndexError
from logo_similarity.retrieval.index import (
    Hits,
    IndexMismatchError,
    IndexNotFoundError,
    SearchIndex,
)
from logo_similarity.retrieval.search import SearchResult, embed_query

__all__ = [
    "BuildReport",
    "CorruptIndexError",
    "Hits",
    "IndexMismatchError",
    "IndexNotFoundError",
    "SearchIndex",
    "SearchResult",
    "build_index",
    "build_with_settings",
    "embed_query",
    "embed_records",
    "write_rejects",
]

"""The read side: a ``SearchIndex`` (FAISS + metadata + stage-2 data of one version) and how it is searched.

``index.py`` is the in-memory index; ``ann.py``, ``chooser.py``, ``refine.py``, ``projection.py`` and
``ondisk.py`` are the FAISS pieces it is made of; ``filters.py`` the item filters applied inside a search;
``results.py`` what a search returns; ``store/`` how a version lives on disk (written whole, checked when read,
one writer at a time); ``rollback.py`` which version to serve when the live one cannot be.
"""

from logo_similarity.retrieval.index import (
    Hits,
    IndexMismatchError,
    IndexNotFoundError,
    SearchIndex,
)
from logo_similarity.retrieval.results import SearchResult
from logo_similarity.retrieval.store.errors import CorruptIndexError

__all__ = [
    "CorruptIndexError",
    "Hits",
    "IndexMismatchError",
    "IndexNotFoundError",
    "SearchIndex",
    "SearchResult",
]

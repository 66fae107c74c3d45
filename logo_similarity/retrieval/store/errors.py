"""Errors about stored indexes (their own module so that every retrieval module can raise them)."""

from __future__ import annotations


class SearchIndexError(RuntimeError):
    """Base for problems with a stored index."""


class IndexNotFoundError(SearchIndexError, FileNotFoundError):
    pass


class IndexMismatchError(SearchIndexError):
    """The index was built with another model or preprocessing than the one asked to query it."""


class CorruptIndexError(SearchIndexError):
    """A version's files are not what was written (truncated, changed, unreadable): it must not be served."""

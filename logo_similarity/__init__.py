"""logo-similarity: a search engine for trademark logos."""

__version__ = "0.1.0"

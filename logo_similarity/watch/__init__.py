"""Trademark watch: watch lists of marks compared with new filings (``run.py``), stored in SQLite (``store.py``)."""

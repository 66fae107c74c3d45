"""How an index version lives on disk: written whole under a staging name and switched to atomically
(``index_io.py``, ``versions.py``), checked against its recorded digests when read (``integrity.py``), changed by
one writer at a time (``lock.py``), with its items' metadata (``metadata.py``) and local features
(``local_features.py``) beside the FAISS file."""

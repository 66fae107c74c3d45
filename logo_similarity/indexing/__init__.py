"""Building and changing an index: the write side.

``build.py`` turns a dataset into a new index (``BuildRequest`` -> ``build_index``; ``build_with_settings`` is how
every caller configures it), embedding it in crash-safe chunks (``chunks.py``, ``embedding.py``) with reuse of
unchanged images (``embedding_cache.py``), here or on a Ray cluster (``ray_engine.py``), shard by shard for large
IVF indexes (``sharded.py``). ``update.py`` adds and deletes items, ``edits.py`` corrects their recorded fields.
Every change is saved as a new version through ``retrieval.store``.
"""

from logo_similarity.indexing.build import BuildReport, BuildRequest, build_index, build_with_settings
from logo_similarity.indexing.embedding import Stage2Data, embed_records, stage2_data

__all__ = ["BuildReport", "BuildRequest", "Stage2Data", "build_index", "build_with_settings", "embed_records",
           "stage2_data"]

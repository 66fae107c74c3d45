"""What query images bring, computed for one query or a batch of them in one pass: the vector (index space), local
features, the elements (kind, figure vector) and the name read by OCR. A batch embeds its images, and its
figures, in one call each; OCR reads image by image. One path for one query and for many, so a batch gives
what the queries one by one give.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from logo_similarity.config import Settings
from logo_similarity.embeddings import Embedder
from logo_similarity.reranking.rerank import QueryFeatures
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.search.cache import QueryCache
from logo_similarity.search.request import Query
from logo_similarity.utils.timing import Stopwatch


def query_features(index: SearchIndex, embedder: Embedder | None, query: Query, settings: Settings, rerank: bool,
                   clock: Stopwatch | None = None, cache: QueryCache | None = None) -> QueryFeatures:
    """What one query brings: its vector (index space), local features, name (given or read), Vienna codes.
    With a ``cache`` (of this index), an image seen before is not embedded or read again."""
    return query_features_batch(index, embedder, [query], settings, rerank, clock, cache)[0]


def query_features_batch(index: SearchIndex, embedder: Embedder | None, queries: list[Query], settings: Settings,
                         rerank: bool, clock: Stopwatch | None = None, cache: QueryCache | None = None,
                         digests: list[str | None] | None = None) -> list[QueryFeatures]:
    """``query_features`` of every query; the images not in ``cache`` computed together (``_image_features``), an
    image the batch repeats (by content, with a ``cache``) once: the repeats count as the cache's hits.
    ``digests``: the queries' image digests when the caller has them (``run_queries`` splitting a batch)."""
    clock = clock or Stopwatch()
    out: list[QueryFeatures | None] = [None] * len(queries)
    todo, keys, repeats = [], {}, {}
    first: dict[tuple, int] = {}  # a key of the batch -> the query that computes it
    for i, query in enumerate(queries):
        if query.vector is not None:
            out[i] = _given(_stored_features(query, rerank), query)
        elif query.image is None:
            out[i] = _given(QueryFeatures(), query)
        else:
            if cache is not None:
                keys[i] = cache.key(query.image, rerank, bool(query.text), digests[i] if digests else None)
                if keys[i] in first:
                    repeats[i] = first[keys[i]]
                    continue
                cached = cache.get(keys[i])
                if cached is not None:
                    out[i] = _given(cached, query)
                    continue
                first[keys[i]] = i
            todo.append(i)
    if cache is not None and keys:
        clock.lap("cache")
    if todo:
        computed = _image_features(index, embedder, [queries[i] for i in todo], settings, rerank, clock)
        for i, features in zip(todo, computed):
            if i in keys:
                cache.put(keys[i], features)
            out[i] = features
    for i, source in repeats.items():
        out[i] = replace(out[source])  # a copy: each query sets its own name and codes on it
        cache.count_hit()
    for i in [*todo, *repeats]:
        out[i] = _given(out[i], queries[i])
    return out


def _given(features: QueryFeatures, query: Query) -> QueryFeatures:
    """The query's own name (when given), Vienna codes and Nice classes set on its features."""
    features.vienna_codes = list(query.vienna_codes)
    features.nice_classes = list(query.nice_classes)
    if query.text:
        features.name, features.name_source = query.text, "given"
    return features


def _stored_features(query: Query, rerank: bool) -> QueryFeatures:
    features = QueryFeatures(vector=np.asarray(query.vector, dtype=np.float32), cells=query.cells, ink=query.ink,
                             figure=query.figure, elements=query.elements)
    if not query.text and query.ocr_text and rerank:
        features.name, features.name_source = query.ocr_text, "ocr"
    return features


def _project(index: SearchIndex, raw: np.ndarray) -> np.ndarray:
    return index.projection(raw) if index.projection is not None else raw


def _image_features(index: SearchIndex, embedder: Embedder, queries: list[Query], settings: Settings, rerank: bool,
                    clock: Stopwatch) -> list[QueryFeatures]:
    arrays = np.stack([embedder.preprocess(q.image).array for q in queries])
    clock.lap("preprocess")
    features = [QueryFeatures() for _ in queries]
    local = index.local if rerank and settings.rerank.spatial != "off" else None
    if local is not None and getattr(embedder, "has_local", False):
        from logo_similarity.embeddings.local import ink_grid

        raw, maps = embedder.embed_local(arrays)
        cells, ink = local.projection(maps), ink_grid(arrays, maps.shape[-1])
        for i, f in enumerate(features):
            f.cells, f.ink = cells[i], ink[i]
    else:
        raw = embedder.embed_batch(arrays)
    clock.lap("embed")
    for f, vector in zip(features, _project(index, raw)):
        f.vector = vector
    elements = rerank and index.figures is not None and settings.elements.enabled
    figures: dict[int, object] = {}
    for i, (query, f) in enumerate(zip(queries, features)):
        read_name = rerank and not query.text and settings.rerank.ocr_query
        if elements:
            figure = _read_elements(query.image, settings, f, read_name, index.figures.split)
            if figure is not None:
                figures[i] = figure
        elif read_name:
            from logo_similarity.text.read_name import name_reader

            read = name_reader(settings, enabled=True)(query.image)
            if read is not None:
                f.name, f.name_source = read.text, "ocr"
    if elements or any(rerank and not q.text and settings.rerank.ocr_query for q in queries):
        clock.lap("ocr")
    if figures:
        raw = embedder.embed_batch(np.stack([embedder.preprocess(fig).array for fig in figures.values()]))
        for i, vector in zip(figures, _project(index, raw)):
            features[i].figure = vector
        clock.lap("figure")
    return features


def _read_elements(image, settings: Settings, features: QueryFeatures, read_name: bool, split: dict | None):
    """The query mark split as the index's marks were (``split``: how they were cut, as the index recorded it; one
    OCR pass, the words recognised when its name is to be read): its kind and, read from that pass, its name.
    Returns its figure (an image) or None."""
    from logo_similarity.preprocessing.elements import element_reader
    from logo_similarity.text.read_name import name_reader

    parts = element_reader(settings).cutting_as(split)(image, recognize=read_name)
    features.elements = parts.describe()
    if read_name:
        read = name_reader(settings, enabled=True).from_ocr(parts.read)
        if read is not None:
            features.name, features.name_source = read.text, "ocr"
    return parts.figure

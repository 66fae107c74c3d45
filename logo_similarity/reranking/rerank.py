"""Stage 2: every component score over the stage-1 candidates, one fused score, and why each result ranks.

Components (each in [0, 1] or [-1, 1], NaN where it does not apply to a candidate, which then counts for
nothing rather than zero):

- ``image``: cosine of the global embeddings (after alpha-QE / DBA when configured);
- ``spatial``: verified local-feature match (``spatial.py``) for the best ``spatial_top`` by image score, computed
  last; with a ``floor`` (a watch run's threshold) only for those whose fused score could still reach it;
- ``text``: the query's name (given, or read from the query logo by OCR) against each mark's name (or the text
  read from its logo at index time), one scoring rule (``text/similarity.py``);
- ``vienna``: hierarchical agreement of Vienna codes (``vienna.py``);
- ``figure``: the devices of composite marks compared without their words (``preprocessing/elements.py``): the
  best of figure vs figure, the query's figure vs the whole candidate, the whole query vs the candidate's
  figure; missing (NaN) when neither mark has a figure (two plain devices, word marks), so masking never costs
  a word mark anything;
- ``nice``: the query's Nice classes shared with the candidate's (1), or not (0), when both are classified
  (``vienna.nice_overlap``): similar goods make look-alike marks a conflict; context, never the strongest
  single piece of evidence (``fusion.CONTEXT``).

The fusion (``fusion.py``) adds each present component's weighted distance from its neutral point; the
weights and neutral points come from settings (``rerank.weights``, ``rerank.neutral``), fitted by
``scripts/06b_fit_rerank.py`` through the same functions. A name read by OCR has its own weight (``ocr_text``),
and is compared as a whole and word by word, best kept: a logo's words are often the mark plus descriptive words
("Studio").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from logo_similarity.classification import load_vienna
from logo_similarity.config import RerankSettings, Settings
from logo_similarity.reranking.fusion import best_rows, fused_scores, fusion_weights, ranking
from logo_similarity.reranking.expansion import alpha_query_expansion, database_augmentation
from logo_similarity.reranking.spatial import patch_max_similarity, verified_matches
from logo_similarity.reranking.vienna import best_shared, nice_overlap, usable_codes, vienna_scores
from logo_similarity.retrieval.index import SearchIndex
from logo_similarity.retrieval.store.metadata import searchable_name
from logo_similarity.text.read_name import name_variants
from logo_similarity.utils.timing import Stopwatch


@dataclass
class QueryFeatures:
    vector: np.ndarray | None = None  # index space (after PCA)
    cells: np.ndarray | None = None  # (P, D) local features
    ink: np.ndarray | None = None  # (P,)
    name: str | None = None
    name_source: str | None = None  # "given" | "ocr"
    vienna_codes: list[str] = field(default_factory=list)
    figure: np.ndarray | None = None  # the query mark's figure (index space), when it is a composite
    elements: dict | None = None  # what the split found in the query mark (``Elements.describe``)
    nice_classes: list[int] = field(default_factory=list)  # the query mark's goods and services


@dataclass
class RankedRow:
    id: int
    score: float
    components: dict[str, float | None]
    explanation: dict[str, Any]


@dataclass
class Ranked:
    rows: list[RankedRow]
    fused: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    spatial_scored: int = 0  # candidates that got a spatial score (what a ``floor`` spares shows here)


def _shared_code(query, candidate, table) -> dict[str, Any]:
    """The deepest code the two marks share, with its titles: why the Vienna component is what it is."""
    _, prefix = best_shared(usable_codes(query, table), usable_codes(candidate, table))
    path = table.path(prefix) if prefix else []
    return {"code": prefix, "title": path[-1].title if path else None, "path": [e.title for e in path]}


def image_component(index: SearchIndex, features: QueryFeatures, ids: np.ndarray, found: dict[int, float],
                    r: RerankSettings, expand_query: bool) -> np.ndarray:
    known = np.array([found.get(i, np.nan) for i in ids.tolist()], dtype=np.float64)
    expand = expand_query and (r.qe_top > 0 or r.dba_top > 0) and len(ids) > 1
    if not expand and not np.isnan(known).any():
        return known
    missing = np.isnan(known) if not expand else np.ones(len(ids), bool)
    vectors = index.vectors(ids[missing]).astype(np.float32)
    if not expand:
        known[missing] = vectors @ features.vector
        return known
    vectors = database_augmentation(vectors, r.dba_top, r.qe_alpha)
    scores = vectors @ features.vector
    query = alpha_query_expansion(features.vector, vectors, scores, r.qe_top, r.qe_alpha)
    return vectors @ query


def spatial_component(index: SearchIndex, features: QueryFeatures, ids: np.ndarray, image: np.ndarray,
                      r: RerankSettings, wanted: np.ndarray | None = None) -> tuple[np.ndarray, dict[int, list]]:
    """Spatial scores (NaN where not computed) and, per candidate row, the matched cell pairs. The best
    ``spatial_top`` rows by image are verified, of them only those ``wanted`` (a boolean per row) when given:
    which rows are the best does not depend on ``wanted``, nor a row's score on the others verified with it."""
    out = np.full(len(ids), np.nan)
    pairs: dict[int, list] = {}
    if r.spatial == "off" or index.local is None or features.cells is None or r.spatial_top == 0:
        return out, pairs
    top = best_rows(image, r.spatial_top)
    if wanted is not None:
        top = top[wanted[top]]
    present, cells, ink = index.local.take(ids[top])
    rows = top[present]
    if not len(rows):
        return out, pairs
    if r.spatial == "patch_max":
        out[rows] = patch_max_similarity(features.cells, features.ink, cells, ink)
        return out, pairs
    matches = verified_matches(features.cells, features.ink, cells, ink, index.local.grid,
                               min_similarity=r.min_cell_similarity)
    for row, match in zip(rows, matches):
        out[row] = match.score
        pairs[int(row)] = match.pairs
    return out, pairs


FIGURE_PAIRS = ("figure", "figure_vs_mark", "mark_vs_figure")  # which of the pairs gave the figure score


def figure_component(index: SearchIndex, features: QueryFeatures, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Figure scores (NaN where neither mark has a figure) and, per row, which pair gave it (index into
    ``FIGURE_PAIRS``, -1 where none)."""
    scores = np.full((3, len(ids)), np.nan)
    if index.figures is None or features.vector is None or not len(ids):
        return scores[0], np.full(len(ids), -1)
    present, figures = index.figures.take(ids)
    if features.figure is not None:
        scores[0, present] = figures @ features.figure
        scores[1] = index.vectors(ids).astype(np.float32) @ features.figure
    scores[2, present] = figures @ features.vector
    best = np.where(np.isnan(scores).all(axis=0), -1, np.argmax(np.nan_to_num(scores, nan=-np.inf), axis=0))
    return np.where(best >= 0, np.nanmax(np.where(np.isnan(scores), -np.inf, scores), axis=0), np.nan), best


ELEMENT_OF = {"image": "mark", "figure": "figure", "text": "words"}


def _elements_matched(parts: dict[str, float | None], features: QueryFeatures, candidate: dict, pair: int,
                      r: RerankSettings) -> dict[str, Any]:
    """Which element of the two marks gave the most evidence (the whole mark, the figure, the words), by the
    component's weighted distance from its neutral point, with both marks' elements (kind, figure box, words)."""
    weights, neutral = fusion_weights(r.weights, r.neutral, features.name_source)
    evidence = {ELEMENT_OF[c]: weights.get(c, 0.0) * (v - neutral.get(c, 0.0))
                for c, v in parts.items() if c in ELEMENT_OF and v is not None}
    return {"matched": max(evidence, key=evidence.get) if evidence else None,
            "figure_pair": FIGURE_PAIRS[pair] if pair >= 0 else None,
            "query": features.elements, "candidate": candidate.get("elements")}


def _cell_xy(cell: int, grid: int) -> tuple[float, float]:
    """Centre of a grid cell in the padded-square frame, as fractions of its side."""
    y, x = divmod(cell, grid)
    return round((x + 0.5) / grid, 4), round((y + 0.5) / grid, 4)


def _can_reach(components: dict[str, np.ndarray], floor: float, r: RerankSettings,
               name_source: str | None) -> np.ndarray:
    """Per row, whether its fused score can reach ``floor`` whatever spatial verification finds: its best case,
    with a spatial score of 1 (the most a match scores) or none (no inked cells), both fused by the rule that
    serves (monotone in each component, so nothing in between scores higher)."""
    n = len(components["image"])
    best = [fused_scores({**components, "spatial": np.full(n, value)}, r.weights, r.neutral, name_source, r.either)
            for value in (1.0, np.nan)]
    return np.fmax(*best) >= floor


def rerank_candidates(index: SearchIndex, features: QueryFeatures, ids: np.ndarray, image_found: dict[int, float],
                      settings: Settings, fuse: bool, k: int, text_found: dict[int, float] | None = None,
                      floor: float | None = None) -> Ranked:
    """Components, fusion and explanations for ``ids``; ``image_found`` / ``text_found`` are scores stage 1
    already computed (by the same functions), reused rather than recomputed. ``floor``: a fused score below
    which no result is wanted (a watch list's threshold): such rows are left out, and a candidate that cannot
    reach it is not spatially verified (the rows kept, their scores and order are what they are without it)."""
    clock = Stopwatch()
    visual = features.vector is not None
    components: dict[str, np.ndarray] = {}
    pairs: dict[int, list] = {}
    figure_pair = None
    if visual and len(ids):
        components["image"] = image_component(index, features, ids, image_found, settings.rerank, fuse)
        clock.lap("image")
        if fuse and index.figures is not None and settings.elements.enabled:
            components["figure"], figure_pair = figure_component(index, features, ids)
            clock.lap("figure")
    if features.name and len(ids):
        text_found = text_found or {}
        text = np.array([text_found.get(i, np.nan) for i in ids.tolist()], dtype=np.float64)
        # names that sound alike were found (and scored) by the name index over the whole collection; of the
        # rest, the best ``text_top`` by image get a name score, the others none (neutral), which bounds the cost
        scored = best_rows(components["image"], settings.rerank.text_top) if visual else np.arange(len(ids))
        variants = name_variants(features.name) if features.name_source == "ocr" else [features.name]
        # the names' encoded columns of the name index (built once per version), not each name encoded again
        name_columns = index.name_index(settings.text.phonetic_weight)
        rows = name_columns.rows_of(ids[scored])
        for variant in variants:  # stage 1 kept the best variant too: the same rule for every candidate
            text[scored] = np.fmax(text[scored], name_columns.similarity(variant, rows))
        components["text"] = text
        clock.lap("text")
    table = load_vienna(settings.classification.vienna_file) if features.vienna_codes else None
    if fuse and features.vienna_codes and len(ids):
        components["vienna"] = vienna_scores(features.vienna_codes, [index.metadata[int(i)].get("vienna_codes")
                                                                     for i in ids], table)
    if fuse and features.nice_classes and len(ids):
        components["nice"] = nice_overlap(features.nice_classes, [index.metadata[int(i)].get("nice_classes")
                                                                  for i in ids])
    if visual and fuse and len(ids):  # last: the dearest component, and the others bound what it can change
        wanted = None if floor is None else _can_reach(components, floor, settings.rerank, features.name_source)
        components["spatial"], pairs = spatial_component(index, features, ids, components["image"], settings.rerank,
                                                         wanted)
        clock.lap("spatial")
    fused = bool(fuse and len(components) > 1)
    if fused:
        score = fused_scores(components, settings.rerank.weights, settings.rerank.neutral, features.name_source,
                             settings.rerank.either)
    elif visual:
        score = components.get("image", np.zeros(0))
    else:
        score = components.get("text", np.zeros(0))
    rows = []
    grid = index.local.grid if index.local is not None else 0
    order = ranking(ids, score, k)
    if floor is not None and fused:
        order = order[score[order] >= floor]
    for r in order:
        parts = {name: (None if np.isnan(v[r]) else float(v[r])) for name, v in components.items()}
        if fused:
            parts["composite"] = float(score[r])
        explanation: dict[str, Any] = {}
        if "text" in components:
            name, source = searchable_name(index.metadata[int(ids[r])])
            explanation["text_source"] = {"query": features.name_source, "candidate": source,
                                          "query_text": features.name, "candidate_text": name}
        if parts.get("vienna"):
            explanation["vienna_shared"] = _shared_code(features.vienna_codes,
                                                        index.metadata[int(ids[r])].get("vienna_codes"), table)
        if int(r) in pairs:
            explanation["spatial_pairs"] = [[*_cell_xy(q, grid), *_cell_xy(c, grid)] for q, c in pairs[int(r)]]
        if figure_pair is not None:
            explanation["elements"] = _elements_matched(parts, features, index.metadata[int(ids[r])],
                                                        int(figure_pair[r]), settings.rerank)
        rows.append(RankedRow(int(ids[r]), float(score[r]), parts, explanation))
    clock.lap("fuse")
    spatial = components.get("spatial")
    return Ranked(rows, fused, clock.timings, 0 if spatial is None else int((~np.isnan(spatial)).sum()))

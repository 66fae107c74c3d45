"""Vienna-code ground truth for L3D-format data: two marks are relevant when they share a level-2 code.

Every record with codes is a query against all the others (itself removed); besides recall@k and mAP we
report the normalised average rank (NAR) of the METU trademark benchmark over the full ranking.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from logo_similarity.config import Settings
from logo_similarity.datasets import LogoRecord, read_dataset
from logo_similarity.embeddings import Embedder
from logo_similarity.evaluation.metrics import full_ranks, normalized_average_rank
from logo_similarity.evaluation.ranking import QuerySet, rank_queries, task_metrics
from logo_similarity.indexing import build_with_settings


def vienna_prefix(code: str, level: int = 2) -> str:
    """``vienna_prefix("27.05.01", 2) == "27.05"`` (category.division[.section])."""
    return ".".join(code.split(".")[:level])


def vienna_relevance(codes: list[tuple[str, ...]], level: int = 2) -> list[set[int]]:
    """For each item, the other items sharing at least one code prefix of ``level`` parts."""
    members: dict[str, set[int]] = defaultdict(set)
    prefixes = [{vienna_prefix(c, level) for c in item} for item in codes]
    for i, item in enumerate(prefixes):
        for prefix in item:
            members[prefix].add(i)
    return [set().union(*(members[p] for p in item)) - {i} if item else set() for i, item in enumerate(prefixes)]


def evaluate_vienna(
    dataset: str | Path, embedder: Embedder, settings: Settings, level: int = 2, max_queries: int = 1000
) -> dict[str, Any]:
    records: list[LogoRecord] = read_dataset(dataset)
    index, report = build_with_settings(records, embedder, settings, factory="Flat", stage2=False)
    ids = np.array(sorted(index.metadata), dtype=np.int64)
    vectors = index.vectors(ids)
    relevance = vienna_relevance([records[i].vienna_codes for i in ids], level)
    candidates = [row for row, rel in enumerate(relevance) if rel]
    rows = sorted(random.Random(0).sample(candidates, min(max_queries, len(candidates))))
    queries = QuerySet(
        vectors=vectors[rows],
        tasks=[f"vienna_level{level}"] * len(rows),
        relevant=[{int(ids[r]) for r in relevance[row]} for row in rows],
        ignore=[{int(ids[row])} for row in rows],
    )
    depth = max(max(settings.eval.ks), settings.eval.map_at)
    rankings = rank_queries(index, queries, depth, projected=True)  # stored vectors are in index space
    results = task_metrics(rankings, queries, settings.eval.ks, settings.eval.map_at)
    nars = []
    for row in rows:
        valid = np.ones(len(ids), dtype=bool)
        valid[row] = False
        scores = vectors @ vectors[row]
        ranks = full_ranks(scores, np.array(sorted(relevance[row])), valid)
        nars.append(normalized_average_rank(ranks, int(valid.sum())))
    results[f"vienna_level{level}"]["nar"] = float(np.mean(nars)) if nars else float("nan")
    return {"tasks": results, "gallery": len(index), "rejects": len(report.rejects), "model": embedder.spec.to_dict()}

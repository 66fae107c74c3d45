"""Score rankings produced by an index against per-query relevance, grouped by task."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from logo_similarity.evaluation.metrics import map_at_k, recall_at_k, relevance_matrix
from logo_similarity.retrieval.index import SearchIndex


@dataclass
class QuerySet:
    """Queries to score: vectors plus, per query, its task and the gallery ids relevant / to ignore."""

    vectors: np.ndarray
    tasks: list[str]
    relevant: list[set[int]]
    ignore: list[set[int]] = field(default_factory=list)


def rank_queries(
    index: SearchIndex, queries: QuerySet, depth: int, batch: int = 256, projected: bool = False
) -> list[list[int]]:
    """Top ``depth`` gallery ids per query after removing that query's ignored ids."""
    ignore = queries.ignore or [set() for _ in queries.tasks]
    extra = max((len(s) for s in ignore), default=0)
    rankings: list[list[int]] = []
    for start in range(0, len(queries.tasks), batch):
        hits = index.search(queries.vectors[start : start + batch], depth + extra, projected=projected)
        for row, q in zip(hits.ids, range(start, start + len(hits.ids))):
            rankings.append([int(i) for i in row if i >= 0 and int(i) not in ignore[q]][:depth])
    return rankings


def task_metrics(
    rankings: list[list[int]], queries: QuerySet, ks: tuple[int, ...], map_at: int
) -> dict[str, dict[str, float]]:
    by_task: dict[str, list[int]] = defaultdict(list)
    for q, task in enumerate(queries.tasks):
        by_task[task].append(q)
    depth = max(max(ks), map_at)
    out: dict[str, dict[str, float]] = {}
    for task, members in sorted(by_task.items()):
        hits = relevance_matrix([rankings[q] for q in members], [queries.relevant[q] for q in members], depth)
        n_rel = np.array([len(queries.relevant[q]) for q in members])
        row: dict[str, float] = {"n": len(members)}
        for k in ks:
            row[f"recall@{k}"] = recall_at_k(hits, k)
        row[f"map@{map_at}"] = map_at_k(hits, n_rel, map_at)
        out[task] = row
    return out

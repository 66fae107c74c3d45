"""The watch benchmark's pairs and figures (``scripts/bench/bench_watch.py``), pure over the benchmarks' metadata
and numpy arrays: which gallery marks are watched and which images are filed, which (filing, mark) pairs are
conflicts, and what a reviewer reading the run's alerts from the top finds."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger

from logo_similarity.datasets import LogoRecord
from logo_similarity.reranking.calibration import tiers

WATCHED_TASKS = ("cross_design", "modified_copy", "device", "word")


def jsonl_rows(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class Selection:
    """The run's watched marks and filings, and what the benchmarks say of their pairs.

    The two benchmarks render the same icons: LogoBench-Composite's plain devices (``plain:<set>:<icon>``,
    ``dplain:...``) are LogoBench's gallery icons (``<set>:<icon>``). Marks are therefore compared by a canonical
    id, so the same picture under two ids is the same mark: a conflict with a query when either id is relevant to
    it, ignored when either is the query's own source. A word query's device (``other_device(...)`` in its
    transform) is the same device as that icon, a conflict too. Unrelated filings are of no watched brand (brands
    compared across both benchmarks)."""

    watched: list[LogoRecord]
    filings: list[LogoRecord]
    conflicts: dict[str, set[str]]  # filing -> canonical ids of the marks it conflicts with
    ignored: dict[str, set[str]]  # filing -> canonical ids left out of every count (its own source)
    canonical: dict[str, str]  # mark key -> canonical id

    def label(self, filing: str, mark: str) -> int | None:
        """1 = conflict, 0 = not, None = left out (the query's own source)."""
        canon = self.canonical[mark]
        if canon in self.conflicts[filing]:
            return 1
        return None if canon in self.ignored[filing] else 0

    def true_conflicts(self, filings: set[str]) -> int:
        """T: the (filing, watched mark) pairs that are conflicts, over ``filings``."""
        by_canon: dict[str, int] = {}
        for m in self.watched:
            by_canon[self.canonical[m.key]] = by_canon.get(self.canonical[m.key], 0) + 1
        return sum(by_canon.get(c, 0) for f in filings for c in self.conflicts[f])


def canonical_id(short: str, gallery_id: str) -> str:
    if short == "lbc":
        for prefix in ("plain:", "dplain:"):
            if gallery_id.startswith(prefix):
                return gallery_id[len(prefix):]
        return f"lbc:{gallery_id}"
    return gallery_id


OTHER_DEVICE = re.compile(r"other_device\(([^)]+)\)")


def select(benches: dict[str, Path], per_task: int | None, seed: int) -> Selection:
    """The watched marks and filings; keys are prefixed by the benchmark's short name."""
    rng = random.Random(seed)
    marks: dict[str, LogoRecord] = {}
    others: list[LogoRecord] = []
    filings: list[LogoRecord] = []
    conflicts: dict[str, set[str]] = {}
    ignored: dict[str, set[str]] = {}
    canonical: dict[str, str] = {}
    brands: dict[str, str] = {}
    for short, bench in benches.items():
        gallery = {f"{short}:{g['id']}": g for g in jsonl_rows(bench / "gallery.jsonl")}
        brands.update({k: str(g.get("brand")) for k, g in gallery.items()})
        canonical.update({k: canonical_id(short, g["id"]) for k, g in gallery.items()})
        queries = [q for q in jsonl_rows(bench / "queries.jsonl") if q["task"] in WATCHED_TASKS]
        chosen = []
        for task in WATCHED_TASKS:
            of_task = [q for q in queries if q["task"] == task]
            chosen += of_task if per_task is None or per_task >= len(of_task) else rng.sample(of_task, per_task)
        for q in chosen:
            key = f"{short}:q:{q['qid']}"
            filings.append(LogoRecord(key, bench / q["file"]))
            conflicts[key] = {canonical_id(short, g) for g in q["relevant"]}
            conflicts[key] |= set(OTHER_DEVICE.findall(q.get("transform") or ""))
            ignored[key] = {canonical_id(short, g) for g in q.get("ignore") or ()}
            for g in q["relevant"]:
                k = f"{short}:{g}"
                marks[k] = LogoRecord(k, bench / gallery[k]["file"], gallery[k].get("text"))
        others += [LogoRecord(k, bench / g["file"], g.get("text")) for k, g in gallery.items() if k not in marks]
    rng.shuffle(others)
    watched = list(marks.values()) + others[:len(marks)]
    watched_keys = {m.key for m in watched}
    watched_brands = {brands[k] for k in watched_keys}
    watched_canon = {canonical[k] for k in watched_keys}
    unrelated = [r for r in others[len(marks):] if brands[r.key] not in watched_brands
                 and canonical[r.key] not in watched_canon]
    queries = len(filings)
    for record in unrelated[:queries]:
        key = f"{record.key}:u"  # a new application whose picture is an unrelated gallery image
        filings.append(LogoRecord(key, record.path))
        conflicts[key], ignored[key] = set(), set()
    if len(unrelated) < queries:
        logger.warning("only {} unrelated images for {} query filings", len(unrelated), queries)
    return Selection(watched, filings, conflicts, ignored, canonical)


def fit_half(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 2 == 0


def report_metrics(scores: np.ndarray, labels: np.ndarray, conflicts: int, probs: np.ndarray,
                   medium: float, high: float) -> dict[str, Any]:
    """The reviewer's figures for one set of alerts (``conflicts`` = T, the true conflicts among its filings)."""
    order = np.lexsort((-scores, -np.nan_to_num(probs, nan=-1.0)))
    ranked = labels[order]
    tier = tiers(probs, medium, high)
    in_high, in_medium = tier == "high", tier == "medium"
    return {
        "conflicts": int(conflicts),
        "alerts": int(len(labels)),
        "recall_at_2x": float(ranked[:2 * conflicts].sum() / conflicts) if conflicts else None,
        "recall_at_5x": float(ranked[:5 * conflicts].sum() / conflicts) if conflicts else None,
        "high_tier_alerts": int(in_high.sum()),
        "high_tier_precision": float(labels[in_high].mean()) if in_high.any() else None,
        "high_tier_recall": float(labels[in_high].sum() / conflicts) if conflicts else None,
        "high_medium_recall": float(labels[in_high | in_medium].sum() / conflicts) if conflicts else None,
        "medium_tier_precision": float(labels[in_medium].mean()) if in_medium.any() else None,
        "top_6pct_recall": float(ranked[:max(1, int(round(0.06 * len(ranked))))].sum() / conflicts) if conflicts else None,
    }


__all__ = ["Selection", "WATCHED_TASKS", "canonical_id", "fit_half", "jsonl_rows", "report_metrics", "select"]

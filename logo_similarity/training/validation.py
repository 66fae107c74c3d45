"""Retrieval validation while training, on a LogoBench-format split: recall@k and mAP@100 per task.

The gallery and query images are prepared once (the embedder's preprocessing, then the frozen stem when
there is one); each validation runs only the trainable part and ranks by exact cosine. Model selection uses
the mean mAP@100 over the tasks, never the training loss.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from logo_similarity.config import ImageSettings
from logo_similarity.evaluation.logobench import load_benchmark
from logo_similarity.evaluation.ranking import QuerySet, task_metrics
from logo_similarity.preprocessing import load_image


@dataclass
class ValidationSplit:
    gallery: np.ndarray  # (G, ...) float16 model inputs or stem features
    queries: np.ndarray  # (F, ...) one per query file
    query_file: np.ndarray  # (Q,) row of ``queries`` per query
    relevance: QuerySet  # vectors unused (empty); tasks, relevant and ignore ids per query

    def evaluate(self, encode, batch_size: int = 256, ks=(1, 10, 100), map_at: int = 100) -> dict[str, dict[str, float]]:
        """Per-task metrics of ``encode`` (inputs -> pooled features), by exact cosine over the gallery."""
        g = _encode_all(encode, self.gallery, batch_size)
        q = _encode_all(encode, self.queries, batch_size)[self.query_file]
        depth = max(max(ks), map_at)
        extra = max((len(s) for s in self.relevance.ignore), default=0)
        scores = q @ g.T
        top = np.argsort(-scores, axis=1, kind="stable")[:, : depth + extra]
        rankings = [[int(i) for i in row if int(i) not in ign][:depth] for row, ign in zip(top, self.relevance.ignore)]
        metrics = task_metrics(rankings, self.relevance, tuple(ks), map_at)
        metrics["mean"] = {f"map@{map_at}": float(np.mean([m[f"map@{map_at}"] for m in metrics.values()]))}
        return metrics


@torch.no_grad()
def _encode_all(encode, inputs: np.ndarray, batch_size: int) -> np.ndarray:
    out = [F.normalize(encode(torch.from_numpy(inputs[s:s + batch_size].astype(np.float32))), dim=1).cpu().numpy()
           for s in range(0, len(inputs), batch_size)]
    return np.concatenate(out)


def validation_key(bench: Path, spec_json: str, frozen_stages: int, max_queries_per_task: int | None, seed: int) -> str:
    """Cache key of a prepared split: the benchmark's listings and everything that changes the prepared inputs."""
    digest = hashlib.sha256()
    for name in ("gallery.jsonl", "queries.jsonl"):
        digest.update((Path(bench) / name).read_bytes())
    digest.update(json.dumps([spec_json, frozen_stages, max_queries_per_task, seed]).encode())
    return digest.hexdigest()[:16]


def load_validation_split(bench: Path, preprocess, stem, image_settings: ImageSettings,
                          max_queries_per_task: int | None = None, seed: int = 0, batch_size: int = 64,
                          cache: Path | None = None) -> ValidationSplit:
    """Prepare a LogoBench-format folder; ``max_queries_per_task`` samples queries (seeded) for speed."""
    gallery, rows = load_benchmark(Path(bench))
    if max_queries_per_task:
        by_task: dict[str, list[dict]] = {}
        for row in rows:
            by_task.setdefault(row["task"], []).append(row)
        rng = random.Random(seed)
        rows = [r for task in sorted(by_task) for r in
                (rng.sample(by_task[task], max_queries_per_task) if len(by_task[task]) > max_queries_per_task
                 else by_task[task])]
    key_to_id = {r.key: i for i, r in enumerate(gallery)}
    files = sorted({r["file"] for r in rows})
    row_of = {f: i for i, f in enumerate(files)}

    def prepare(paths: list[Path], desc: str) -> np.ndarray:
        out = []
        for s in tqdm(range(0, len(paths), batch_size), desc=desc, mininterval=5):
            arrays = np.stack([preprocess(load_image(p, image_settings)).array for p in paths[s:s + batch_size]])
            out.append(stem(torch.from_numpy(arrays)).numpy().astype(np.float16))
        return np.concatenate(out)

    relevance = QuerySet(
        vectors=np.zeros((0, 0), dtype=np.float32),
        tasks=[r["task"] for r in rows],
        relevant=[{key_to_id[k] for k in r["relevant"] if k in key_to_id} for r in rows],
        ignore=[{key_to_id[k] for k in r.get("ignore") or [] if k in key_to_id} for r in rows],
    )
    if cache is not None and cache.is_file():
        arrays = np.load(cache)
        gallery_inputs, query_inputs = arrays["gallery"], arrays["queries"]
    else:
        gallery_inputs = prepare([r.path for r in gallery], "validation gallery")
        query_inputs = prepare([Path(bench) / f for f in files], "validation queries")
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(cache.name + ".partial.npz")
            np.savez(tmp, gallery=gallery_inputs, queries=query_inputs)
            tmp.replace(cache)
    return ValidationSplit(
        gallery=gallery_inputs,
        queries=query_inputs,
        query_file=np.asarray([row_of[r["file"]] for r in rows], dtype=np.int64),
        relevance=relevance,
    )

"""Stage-2 cost: re-ranking 1,000 candidates per query on this machine, and what local features cost to build and store.

    python -m scripts.bench.bench_rerank --bench ../shared/logobench --queries 200 --json runs/bench_rerank.json

1. Index the benchmark's gallery twice, with and without local features (OCR of unnamed marks off, so the
   difference is the local features alone): images/s of each, bytes per item on disk.
2. For --queries query images (a seeded sample): the query's features once, then ``rerank_candidates`` over its
   top ``search.candidates`` by image, timed (a) image + spatial only, (b) every component: spatial, the name
   read by OCR when there is one (else a fixed test name), and Vienna codes. Medians and p99 in ms.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace
from pathlib import Path


from logo_similarity.config import load_settings
from logo_similarity.embeddings import load_embedder
from logo_similarity.evaluation.logobench import load_benchmark
from logo_similarity.preprocessing import load_image
from logo_similarity.reranking.rerank import rerank_candidates
from logo_similarity.indexing import BuildRequest, build_index, stage2_data
from logo_similarity.search.features import query_features
from logo_similarity.search.query import Query
from logo_similarity.utils.logging import configure_logging
from logo_similarity.utils.timing import percentiles_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=Path("../shared/logobench"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging("WARNING")
    settings = load_settings(overrides={"rerank": {"ocr_index": False}})
    embedder = load_embedder(None, settings)
    gallery, rows = load_benchmark(args.bench)
    request = BuildRequest(gallery, settings.index, settings.image, settings.model.batch_size, factory="Flat")
    plain, plain_report = build_index(request, embedder)
    index, report = build_index(replace(request, stage2=stage2_data(embedder, settings)), embedder)
    full = settings.model_copy(update={"rerank": settings.rerank.model_copy(update={"ocr_index": True})})
    files = random.Random(0).sample(sorted({q["file"] for q in rows}), args.queries)
    spatial_ms, all_ms = [], []
    for f in files:
        features = query_features(index, embedder, Query(image=load_image(args.bench / f, settings.image)), full, True)
        hits = index.search(features.vector[None], settings.search.candidates, projected=True)
        ids = hits.ids[0][hits.ids[0] >= 0]
        found = {int(i): float(s) for i, s in zip(ids, hits.scores[0])}
        name = features.name
        features.name, features.name_source = None, None
        start = time.perf_counter()
        rerank_candidates(index, features, ids, found, settings, fuse=True, k=settings.search.k)
        spatial_ms.append(time.perf_counter() - start)
        features.name, features.name_source = (name, "ocr") if name else ("Studio Labs", "given")
        features.vienna_codes = ["27.05.01", "26.01.03"]
        start = time.perf_counter()
        rerank_candidates(index, features, ids, found, settings, fuse=True, k=settings.search.k)
        all_ms.append(time.perf_counter() - start)
    out = {
        "candidates": settings.search.candidates,
        "spatial_top": settings.rerank.spatial_top,
        "rerank_image_spatial_ms": percentiles_ms(spatial_ms),
        "rerank_all_components_ms": percentiles_ms(all_ms),
        "build_img_per_s": {"without_local": plain_report.images_per_s, "with_local": report.images_per_s},
        "local_bytes_per_item": index.local.bytes_per_item,
        "queries": len(files),
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

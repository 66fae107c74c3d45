"""Index benchmarks: build throughput, search per index type at 100k / 1M vectors, deletes, and a kill test.

    python -m scripts.bench.bench_index --json runs/bench_index.json
    python -m scripts.bench.bench_index --sizes 100000 --only search

Build: the bundled demo gallery through `build_index` (chunked, masking off / on), images per second.
Search: clustered synthetic unit vectors (--dim), each index type built and tuned as a real build does,
then 200 new queries one at a time at k=1000: p50/p99 ms, recall@100 against exact search, and the
serialised index size per vector. --hnsw-max skips HNSW above that many vectors.
Types: on every index type the chooser returns, a third of --types-n items deleted, then the rest looked up by
id and searched for (each must still find itself; no deleted item may come back).
Kill test: a build of rendered logos killed with SIGKILL at --kills points, resumed, and compared with an
uninterrupted build (same ids, same vectors).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from logo_similarity.config import load_settings
from logo_similarity.datasets import read_dataset
from logo_similarity.embeddings import load_embedder
from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.indexing import BuildRequest, build_index
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.ann import recall_at
from logo_similarity.retrieval.chooser import ivf_lists, pq_bytes
from logo_similarity.utils.logging import configure_logging
from logo_similarity.utils.timing import percentiles_ms

if __package__ in (None, ""):  # run as a file (python scripts/bench/NAME.py): make the repository root importable,
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # as `python -m scripts.bench.NAME` does

from scripts.bench.bench_scale import clustered  # noqa: E402
from tests.support.crashtest import kill_and_resume  # noqa: E402


def bench_build(gallery: Path) -> dict[str, float]:
    records = read_dataset(gallery)
    out = {}
    for name, mask in (("mask_off", False), ("mask_on", True)):
        settings = load_settings(overrides={"text": {"mask": mask}})
        embedder = load_embedder(None, settings)
        embedder.preprocess(__import__("logo_similarity.preprocessing", fromlist=["load_image"]).load_image(records[0].path))
        with tempfile.TemporaryDirectory() as work:
            request = BuildRequest(records, settings.index.model_copy(update={"pca_dim": 0}), settings.image,
                                   settings.model.batch_size, work=Path(work))
            _, report = build_index(request, embedder)
        out[name] = report.images_per_s
        print(f"build {name}: {report.items} images, {report.images_per_s:.1f} img/s", flush=True)
    return out


def factories(n: int, dim: int) -> list[str]:
    lists = ivf_lists(n)
    m = pq_bytes(dim, 10**9)
    m = min(m, dim // 4, 64)
    return ["Flat", "HNSW32,Flat", f"IVF{lists},Flat", f"OPQ{m}_{dim},IVF{lists},PQ{m}x8"]


def bench_search(n: int, dim: int, hnsw_max: int, kinds: str | None = None, queries: int = 200,
                 k: int = 1000) -> list[dict]:
    spec = ModelSpec("synthetic", "none", 0, (0.0,) * 3, (1.0,) * 3, "none", 0.0, dim)
    data = clustered(n, dim, seed=1)
    ids = np.arange(n, dtype=np.int64)
    metas = [{"key": str(i), "file": ""} for i in range(n)]
    rng = np.random.default_rng(2)
    q = data[rng.choice(n, queries, replace=False)] + 0.05 * rng.normal(size=(queries, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    exact = faiss.IndexFlatIP(dim)
    exact.add(data)
    _, truth = exact.search(q, 100)
    rows = []
    for factory in factories(n, dim):
        if kinds and not any(factory.startswith(kind) for kind in kinds.split(",")):
            continue
        if factory.startswith("HNSW") and n > hnsw_max:
            print(f"skip {factory} at n={n} (> --hnsw-max)", flush=True)
            continue
        start = time.perf_counter()
        index = SearchIndex.from_vectors(spec, ids, data, metas, factory)
        build_s = time.perf_counter() - start
        samples = []
        found = []
        for row in q:
            t0 = time.perf_counter()
            hits = index.search(row[None], k)
            samples.append(time.perf_counter() - t0)
            found.append(hits.ids[0, :100])
        lat = percentiles_ms(samples)
        size = faiss.serialize_index(index.index).nbytes
        result = {"n": n, "index": factory, "p50_ms": lat["p50"], "p99_ms": lat["p99"],
                  "recall@100": recall_at(np.array(found), truth), "bytes_per_vector": size / n,
                  "search_params": index.search_params, "build_s": build_s}
        rows.append(result)
        print(json.dumps(result), flush=True)
        del index
    return rows


def bench_kill(kills: int, model_cache: Path) -> dict:
    from logo_similarity.synthetic import random_text_logo

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gallery = tmp / "gallery"
        gallery.mkdir()
        for i in range(150):
            random_text_logo(i, side=128)[0].save(gallery / f"{i:04d}.png")
        env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache), "LOGO_SIM__LOG_LEVEL": "WARNING",
               "LOGO_SIM__MODEL__BATCH_SIZE": "2"}

        def args(name: str) -> list[str]:
            return [sys.executable, "-m", "logo_similarity.cli", "index", str(gallery), "--out", str(tmp / name),
                    "--work", str(tmp / f"{name}.work"), "--chunk-size", "3", "--model", "thumbnail"]

        subprocess.run(args("reference"), env=env, check=True, capture_output=True)
        ref = SearchIndex.load(tmp / "reference")
        ids = np.array(sorted(ref.metadata))

        def identical(out: Path) -> bool:
            got = SearchIndex.load(out)
            return sorted(got.metadata) == ids.tolist() and bool(np.allclose(ref.vectors(ids), got.vectors(ids),
                                                                                atol=1e-6))

        report = kill_and_resume(args("resumed"), env, tmp / "resumed.work", tmp / "resumed", kills, identical,
                                 seed=11)
    print(f"kill test: {report.kills} kills over {len(report.verified)} builds, chunks done at each kill "
          f"{report.chunks_at_kill}; every resumed build identical: {all(report.verified)}", flush=True)
    return {"kills": report.kills, "builds": len(report.verified), "identical": all(report.verified),
            "chunks_done_at_kill": report.chunks_at_kill}


def bench_types(n: int, dim: int) -> list[dict]:
    """Delete a third of the items, then look the rest up by id and search for them, on every index type the
    chooser returns: each kept item must still find itself as before, no deleted one may come back."""
    vectors = clustered(n, dim, seed=5)
    ids = np.arange(n, dtype=np.int64) * 7 + 3
    spec = ModelSpec("bench", "w", 224, (0.5,) * 3, (0.5,) * 3, "gem", 3.0, dim)
    metas = [{"key": str(i), "file": ""} for i in ids]
    m = pq_bytes(dim, 64)
    rows = []
    for factory in ("Flat", "HNSW32,Flat", f"IVF{ivf_lists(n)},Flat", f"OPQ{m}_{min(dim, 4 * m)},IVF{ivf_lists(n)},PQ{m}x8"):
        index = SearchIndex.from_vectors(spec, ids, vectors, metas, factory, target_recall=0.95)
        probe = np.arange(0, n, 11)
        before = float(np.mean(index.search(vectors[probe], 1).ids[:, 0] == ids[probe]))
        gone = set(ids[::3].tolist())
        start = time.perf_counter()
        index.remove(sorted(gone))
        delete_s = time.perf_counter() - start
        kept = np.array([r for r in probe if int(ids[r]) not in gone])
        found = index.search(vectors[kept], 10).ids
        after = float(np.mean(found[:, 0] == ids[kept]))
        stored = index.vectors(ids[kept])
        cos = float(np.min(np.sum(stored * vectors[kept], axis=1) / np.linalg.norm(stored, axis=1)))
        row = {"index": factory, "n": n, "self_top1_before": round(before, 4), "self_top1_after_delete": round(after, 4),
               "deleted_returned": int(np.isin(found, list(gone)).sum()), "by_id_min_cosine": round(cos, 4),
               "delete_s": round(delete_s, 3)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["build", "search", "kill", "types"])
    parser.add_argument("--types-n", type=int, default=20_000, help="vectors in the delete / by-id test per type")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--hnsw-max", type=int, default=2_000_000)
    parser.add_argument("--indexes", help="only index types starting with these (comma-separated), e.g. HNSW,IVF")
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--gallery", type=Path, default=Path("data/demo/metadata.jsonl"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging("WARNING")
    faiss.omp_set_num_threads(load_settings().model.threads)
    report: dict = {}
    if args.only in (None, "build"):
        report["build_img_per_s"] = bench_build(args.gallery)
    if args.only in (None, "search"):
        report["search"] = [row for n in args.sizes.split(",") for row in bench_search(int(n), args.dim, args.hnsw_max, args.indexes)]
    if args.only in (None, "types"):
        report["delete_and_by_id"] = bench_types(args.types_n, args.dim)
    if args.only in (None, "kill"):
        report["kill_test"] = bench_kill(args.kills, Path(load_settings().model.cache_dir).expanduser())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

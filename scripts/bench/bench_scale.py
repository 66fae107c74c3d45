"""Scale benchmarks: the Ray engine against the local one, ANN search by index type and size, name search at 1M.

    python scripts/bench/bench_scale.py --json runs/bench_scale.json
    python scripts/bench/bench_scale.py --only search --sizes 100000,1000000

Ray: --ray-images rendered logos indexed by `logo-sim index` with the local engine and with `--engine ray`
(--ray-workers actors on a local cluster); img/s of each, whether the two indexes are identical (ids, vectors,
names read by OCR), and whether a Ray build killed with SIGKILL after two chunks resumes to the same index.
Search: clustered unit vectors (dim 256), each index type built as a build does (train, add, tune to
index.target_recall), written to disk, then searched from a fresh process that memory-maps it (as a server
does): 200 new queries one at a time at k=1000, p50/p99 ms, recall@100 against exact search, file bytes per
vector, and memory per vector: with the whole index read in (ram_bytes_per_vector, the full footprint) and as
mapped after the 200 queries (mmap_resident_bytes_per_vector). At the largest size, a sharded IVF-SQ8 build:
training, add time per shard and merge time (sharded_build).
Filtered: --filtered-size items (IVF-SQ8) with register-like metadata: stage 1 of a query filtered to a Vienna
division, a code, a Nice class, a year range and a combination (filtered_1m: the worst filter's p50/p99, whether
every query got k results whenever k were allowed).
Names: --names synthetic names; the stored name index's load time, p50/p99 of one search (k=20), and the
pre-selection's recall of brute-force ALINE's top 10.
Only the package is imported, so the script runs as a file or as `python -m scripts.bench.bench_scale`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from logo_similarity.config import TextSettings, load_settings
from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.ann import recall_at, search_with
from logo_similarity.retrieval.chooser import ivf_lists
from logo_similarity.retrieval.refine import RefineCodes
from logo_similarity.utils.logging import configure_logging
from logo_similarity.utils.timing import percentiles_ms

CLI = [sys.executable, "-m", "logo_similarity.cli"]


# ---------------------------------------------------------------- Ray

def _index_cmd(gallery: Path, out: Path, cache: Path, *extra: str, wait: bool = True):
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(cache), "LOGO_SIM__LOG_LEVEL": "INFO",
           "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.Popen([*CLI, "index", str(gallery), "--out", str(out), *extra], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    if not wait:
        return proc
    log, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(log[-3000:])
    return log


def _img_per_s(log: str) -> float:
    return float(re.findall(r"([\d.]+) img/s", log)[-1])


def _identical(a: Path, b: Path) -> bool:
    x, y = SearchIndex.load(a), SearchIndex.load(b)
    ids = np.array(sorted(x.metadata))
    return (ids.tolist() == sorted(y.metadata) and np.allclose(x.vectors(ids), y.vectors(ids), atol=1e-5)
            and all(x.metadata[i].get("ocr_text") == y.metadata[i].get("ocr_text") for i in ids.tolist()))


def bench_ray(n_images: int, workers: int, chunk: int) -> dict:
    from logo_similarity.synthetic import random_text_logo

    cache = Path(load_settings().model.cache_dir).expanduser()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gallery = tmp / "gallery"
        gallery.mkdir()
        for i in range(n_images):
            random_text_logo(i, side=192)[0].save(gallery / f"{i:05d}.png")
        common = ("--chunk-size", str(chunk))
        local_log = _index_cmd(gallery, tmp / "local", cache, *common)
        ray_args = (*common, "--engine", "ray", "--num-workers", str(workers))
        ray_log = _index_cmd(gallery, tmp / "ray", cache, *ray_args)
        proc = _index_cmd(gallery, tmp / "killed", cache, *ray_args, wait=False)
        work = tmp / ".killed.work"
        while len(list(work.glob("*.done"))) < 2 and proc.poll() is None:
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        resumed_log = _index_cmd(gallery, tmp / "killed", cache, *ray_args)
        out = {"workers": workers, "images": n_images, "img_per_s": _img_per_s(ray_log),
               "local_img_per_s": _img_per_s(local_log), "identical": _identical(tmp / "local", tmp / "ray"),
               "resumed_after_kill": "resuming: " in resumed_log and _identical(tmp / "local", tmp / "killed")}
    print(json.dumps({"ray": out}), flush=True)
    return out


# ---------------------------------------------------------------- ANN search

def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(max(100, n // 1000), dim)).astype(np.float32)
    x = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # in slices: the noise of 1M x 256 at once is 2 GB of float64
        part = slice(start, min(n, start + 100_000))
        size = part.stop - part.start
        x[part] = centers[rng.integers(0, len(centers), size)] + 0.35 * rng.standard_normal((size, dim), np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _rss() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmRSS:"))


def _measure(folder: str, k: int, mode: str) -> dict:
    """In a fresh process: load the index as a server does, search, report the memory it added.

    ``mmap`` maps the file (a server's default): resident memory is what the 200 queries touched plus what FAISS
    allocates (the id map, the centroids). Without it the whole index is read into memory: the full footprint.
    Refinement codes are memory-mapped either way (page cache, counted as disk).
    """
    faiss.omp_set_num_threads(2)
    folder = Path(folder)
    queries, truth = np.load(folder / "queries.npy"), np.load(folder / "truth.npy")
    params = json.loads((folder / "params.json").read_text())
    base = _rss()
    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mode == "mmap" else 0
    index = faiss.read_index(str(folder / "index.faiss"), flags)
    refine = RefineCodes.load(folder, mmap=True) if (folder / "refine_sq.npz").exists() else None
    samples, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, ids = search_with(index, q[None], k, params, refine=refine)
        samples.append(time.perf_counter() - t0)
        found.append(ids[0, :100])
    lat = percentiles_ms(samples)
    return {"p50_ms": lat["p50"], "p99_ms": lat["p99"], "recall@100": recall_at(np.array(found), truth),
            "ram_bytes": _rss() - base}


def bench_search(sizes: list[int], dim: int, kinds: list[str], hnsw_max: int, k: int = 1000) -> tuple[list[dict], dict]:
    spec = ModelSpec("synthetic", "none", 0, (0.0,) * 3, (1.0,) * 3, "none", 0.0, dim)
    rows = []
    for n in sizes:
        data = clustered(n, dim, seed=1)
        rng = np.random.default_rng(2)
        queries = data[rng.choice(n, 200, replace=False)] + 0.05 * rng.standard_normal((200, dim), np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        exact = faiss.IndexFlatIP(dim)
        exact.add(data)
        truth = exact.search(queries, 100)[1]
        del exact
        lists = ivf_lists(n)
        factories = {"hnsw": "HNSW32,Flat", "ivf_flat": f"IVF{lists},Flat", "ivf_sq8": f"IVF{lists},SQ8",
                     "opq_pq_refined": f"OPQ32_128,IVF{lists},PQ32x8"}
        for kind in kinds:
            factory = factories[kind]
            if kind == "hnsw" and n > hnsw_max:
                continue
            start = time.perf_counter()
            built = SearchIndex.from_vectors(spec, np.arange(n, dtype=np.int64), data, [{}] * n, factory)
            build_s = time.perf_counter() - start
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                faiss.write_index(built.index, str(folder / "index.faiss"))
                if built.refine is not None:
                    built.refine.save(folder)
                np.save(folder / "queries.npy", queries)
                np.save(folder / "truth.npy", truth)
                (folder / "params.json").write_text(json.dumps(built.search_params))
                disk = sum(p.stat().st_size for p in folder.iterdir() if p.name.startswith(("index", "refine")))
                del built
                measured = {}
                for mode in ("mmap", "read"):  # each in a fresh process: freed memory would hide allocations
                    with multiprocessing.get_context("spawn").Pool(1) as pool:
                        measured[mode] = pool.apply(_measure, (str(folder), k, mode))
                params = json.loads((folder / "params.json").read_text())
            served, full = measured["mmap"], measured["read"]
            row = {"n": n, "index": factory + (" + SQ8 refine" if kind == "opq_pq_refined" else ""),
                   "p50_ms": served["p50_ms"], "p99_ms": served["p99_ms"], "recall@100": served["recall@100"],
                   "ram_bytes_per_vector": full["ram_bytes"] / n, "disk_bytes_per_vector": disk / n,
                   "mmap_resident_bytes_per_vector": served["ram_bytes"] / n, "read_p99_ms": full["p99_ms"],
                   "build_s": build_s, "search_params": params}
            rows.append(row)
            print(json.dumps(row), flush=True)
        if n == max(sizes):
            sharded = bench_sharded(data, f"IVF{lists},SQ8", shards=4)
        del data
    return rows, sharded


def _register(n: int, seed: int = 3) -> list[dict]:
    """Metadata like a register's: a filing year (5 % none), 0-3 Vienna codes over 29 divisions (division 1-2
    digit codes shared unevenly), 0-3 Nice classes of 45."""
    rng = random.Random(seed)
    divisions = [f"{d:02d}" for d in range(1, 30)]
    weights = [1.0 / (i + 1) for i in range(len(divisions))]  # some divisions far commoner than others
    out = []
    for _ in range(n):
        codes = [f"{d}.{rng.randint(1, 15):02d}.{rng.randint(1, 25):02d}"
                 for d in rng.choices(divisions, weights, k=rng.randint(0, 3))]
        out.append({"year": rng.randint(1950, 2025) if rng.random() > 0.05 else None, "vienna_codes": codes,
                    "nice_classes": rng.sample(range(1, 46), rng.randint(0, 3))})
    return out


def bench_filtered(n: int, dim: int, k: int = 20, queries: int = 200) -> dict:
    """Stage 1 of a filtered query at ``n`` items as ``run_query`` does it: the allowed ids from the filter
    columns, then the index searched for ``search.candidates`` among them (FAISS id selector, or exact among a
    small set). p50/p99 per filter; ``k_returned_ok``: every query got min(k, items allowed) results."""
    from logo_similarity.retrieval.filters import ItemFilter

    candidates = load_settings().search.candidates
    spec = ModelSpec("synthetic", "none", 0, (0.0,) * 3, (1.0,) * 3, "none", 0.0, dim)
    data = clustered(n, dim, seed=4)
    start = time.perf_counter()
    index = SearchIndex.from_vectors(spec, np.arange(n, dtype=np.int64), data, _register(n), f"IVF{ivf_lists(n)},SQ8")
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    index.allowed_ids(ItemFilter(year_from=0))  # the columns, built once per index version
    columns_s = time.perf_counter() - start
    rng = np.random.default_rng(5)
    picks = data[rng.choice(n, queries, replace=False)] + 0.05 * rng.standard_normal((queries, dim), np.float32)
    filters = {"vienna_division": ItemFilter(vienna="01"), "rare_division": ItemFilter(vienna="27"), "vienna_code": ItemFilter(vienna="27.05.01"),
               "nice_class": ItemFilter(nice=frozenset({9})), "year_range": ItemFilter(year_from=2003, year_to=2005),
               "combined": ItemFilter(vienna="03", nice=frozenset({25, 35}), year_from=2000)}
    rows, ok = {}, True
    for name, item_filter in filters.items():
        samples, returned = [], True
        for q in picks:
            t0 = time.perf_counter()
            allowed = index.allowed_ids(item_filter)
            hits = index.search(q[None] / np.linalg.norm(q), max(k, candidates), projected=True, allowed=allowed)
            samples.append(time.perf_counter() - t0)
            found = hits.ids[0][hits.ids[0] >= 0]
            returned &= len(found) >= min(k, len(allowed)) and bool(np.isin(found, allowed).all())
        t0 = time.perf_counter()  # what a filter cost before the columns: every item's metadata read in Python
        scanned = np.array(sorted(i for i, m in index.metadata.items() if item_filter.accepts(m)), dtype=np.int64)
        scan_ms = (time.perf_counter() - t0) * 1000.0
        returned &= bool(np.array_equal(scanned, allowed))
        rows[name] = {**percentiles_ms(samples), "allowed": int(len(allowed)), "k_returned_ok": bool(returned),
                      "python_scan_ms": scan_ms}
        ok &= returned
        print(json.dumps({"filtered": name, **rows[name]}), flush=True)
    worst = [max(r["p50"] for r in rows.values()), max(r["p99"] for r in rows.values())]
    return {"n": n, "p50_ms": worst[0], "p99_ms": worst[1], "k_returned_ok": ok, "filters": list(filters),
            "per_filter": rows, "build_s": build_s, "columns_build_s": columns_s,
            "columns_bytes_per_item": index._filter_columns.nbytes / n}


def bench_sharded(data: np.ndarray, factory: str, shards: int) -> dict:
    """Per-shard figures of a sharded build: train once, add each shard, merge the lists on disk."""
    from logo_similarity.retrieval.ann import training_rows
    from logo_similarity.indexing.sharded import ShardedBuild, add_shard

    n, dim = data.shape
    size = -(-n // shards)
    with tempfile.TemporaryDirectory() as tmp:
        build = ShardedBuild(Path(tmp), factory, dim, shards)
        start = time.perf_counter()
        build.train(data[training_rows(n)])
        train_s = time.perf_counter() - start
        add_s = []
        for number in range(shards):
            part = slice(number * size, min(n, (number + 1) * size))
            start = time.perf_counter()
            add_shard(build.trained_path, build.shard_path(number), lambda p=part: (np.arange(p.start, p.stop), data[p]))
            add_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        merged = build.merge(Path(tmp) / "merged.ivfdata")
        merge_s = time.perf_counter() - start
        disk = (Path(tmp) / "merged.ivfdata").stat().st_size
        assert merged.ntotal == n
    row = {"n": n, "index": factory + " (sharded)", "shards": shards, "train_s": train_s,
           "add_s_per_shard": add_s, "vectors_per_shard": size, "merge_s": merge_s, "lists_bytes_per_vector": disk / n}
    print(json.dumps(row), flush=True)
    return row


# ---------------------------------------------------------------- names

def bench_names(n: int, queries: int, recall_queries: int) -> dict:
    """The same synthetic names and sound-alike queries as scripts/bench/bench_text.py."""
    from logo_similarity.synthetic import sound_alike_name, synthetic_name
    from logo_similarity.text.name_index import NameIndex

    text = TextSettings()
    rng = random.Random(2)
    names = [synthetic_name(rng) for _ in range(n)]
    start = time.perf_counter()
    built = NameIndex(np.arange(n), names, text.phonetic_weight)
    build_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        built.save(Path(tmp) / "names.npz")
        del built
        start = time.perf_counter()
        index = NameIndex.load(Path(tmp) / "names.npz", text.phonetic_weight)
        load_s = time.perf_counter() - start
    qs = [sound_alike_name(names[rng.randrange(n)], rng) for _ in range(queries)]
    index.search(qs[0], 20, text.name_candidates, text.name_rescore)  # compiles / loads the kernel
    latency = []
    for q in qs:
        t0 = time.perf_counter()
        index.search(q, 20, text.name_candidates, text.name_rescore)
        latency.append(time.perf_counter() - t0)
    recall, recall_ngrams = [], []
    for q in qs[:recall_queries]:
        truth = index.brute_force_aline(q, 10)
        recall.append(np.isin(truth, index.preselect(q, text.name_candidates, text.name_rescore)).mean())
        recall_ngrams.append(np.isin(truth, index.preselect(q, text.name_candidates, 0)).mean())
    lat = percentiles_ms(latency)
    out = {"names": n, "build_s": build_s, "load_s": load_s, "p50_ms": lat["p50"], "p99_ms": lat["p99"],
           "preselect_recall": float(np.mean(recall)), "preselect_recall_ngrams_only": float(np.mean(recall_ngrams)),
           "budget": text.name_candidates, "rescore": text.name_rescore, "recall_queries": recall_queries}
    print(json.dumps({"name_search": out}), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["ray", "search", "names", "filtered"])
    parser.add_argument("--filtered-size", type=int, default=1_000_000)
    parser.add_argument("--ray-images", type=int, default=400)
    parser.add_argument("--ray-workers", type=int, default=2)
    parser.add_argument("--ray-chunk", type=int, default=32)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--kinds", default="hnsw,ivf_flat,ivf_sq8,opq_pq_refined")
    parser.add_argument("--hnsw-max", type=int, default=1_000_000)
    parser.add_argument("--names", type=int, default=1_000_000)
    parser.add_argument("--name-queries", type=int, default=200)
    parser.add_argument("--recall-queries", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging("WARNING")
    faiss.omp_set_num_threads(2)
    report: dict = {}
    if args.only in (None, "ray"):
        report["ray"] = bench_ray(args.ray_images, args.ray_workers, args.ray_chunk)
    if args.only in (None, "search"):
        report["search"], report["sharded_build"] = bench_search(
            [int(s) for s in args.sizes.split(",")], args.dim, args.kinds.split(","), args.hnsw_max)
    if args.only in (None, "filtered"):
        report["filtered_1m"] = bench_filtered(args.filtered_size, args.dim)
    if args.only in (None, "names"):
        nm = bench_names(args.names, args.name_queries, args.recall_queries)
        report["name_search_1m"] = {"p99_ms": nm["p99_ms"], "preselect_recall": nm["preselect_recall"],
                                    "load_s": nm["load_s"], "detail": nm}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Build, train and tune an approximate FAISS index chosen by ``choose_index``.

``tune_search`` raises efSearch (HNSW) or nprobe (IVF) until recall@k against exact search reaches the
target. Its queries are sampled indexed vectors with their own id removed from both result lists, so they
behave like new queries near the data rather than exact hits. The values are recorded in the manifest and
passed with every search as per-call FAISS search parameters (no shared state, safe across threads);
HNSW's efSearch is raised to k when more results are asked for than it explores.
"""

from __future__ import annotations

import time

import faiss
import numpy as np
from loguru import logger

from logo_similarity.retrieval.refine import MIN_FETCH

EF_SEARCH = (16, 32, 64, 128, 256, 512, 1024)
# FAISS builds HNSW graphs with efConstruction 40: on 1M clustered 256-d vectors such a graph stops at recall@100
# 0.87 (efSearch 1000, k = 1000); built with 200 it reaches 0.9996 at the same search cost, for a 2.7x longer build.
HNSW_EF_CONSTRUCTION = 200
NPROBE = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def new_index(dim: int, factory: str) -> faiss.Index:
    """An empty index taking our own int64 ids.

    IVF-family indexes store the ids in their inverted lists (add_with_ids) and get a hash-table direct map for
    look-ups and deletes. They must not sit inside ``IndexIDMap2``: its removal assumes the inner index renumbers
    the rest like a flat one, which IVF does not, so ids and vectors would fall out of step after a delete.
    Flat and HNSW have no ids of their own and keep the id map.
    """
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    if isinstance(faiss.downcast_index(index), faiss.IndexHNSW):
        faiss.downcast_index(index).hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    if _ivf_of(index) is not None:
        ensure_direct_map(index)
        return index
    return faiss.IndexIDMap2(index)


def _unwrapped(index: faiss.Index) -> faiss.Index:
    return faiss.downcast_index(index.index if isinstance(index, faiss.IndexIDMap2) else index)


def _ivf_of(index: faiss.Index):
    try:
        return faiss.extract_index_ivf(_unwrapped(index))
    except RuntimeError:
        return None


def migrate_ivf_ids(index: faiss.Index) -> faiss.Index:
    """An IVF index written inside ``IndexIDMap2`` (before the fix above), rewritten to hold our ids itself.

    The inverted lists hold positions 0..n-1; they are relabelled in place with the ids the map held, and the
    inner index (a copy, owned here) is returned. Other indexes are returned unchanged.
    """
    if not isinstance(index, faiss.IndexIDMap2) or _ivf_of(index) is None:
        return index
    id_map = faiss.vector_to_array(index.id_map)
    inner = faiss.clone_index(_unwrapped(index))
    ivf = faiss.extract_index_ivf(inner)
    lists = faiss.downcast_InvertedLists(ivf.invlists)
    if not isinstance(lists, faiss.ArrayInvertedLists):
        raise RuntimeError(f"cannot relabel {type(lists).__name__} inverted lists; rebuild the index")
    for list_no in range(ivf.nlist):
        size = lists.list_size(list_no)
        if size:
            positions = faiss.rev_swig_ptr(lists.get_ids(list_no), size)  # a writable view of the list's ids
            positions[:] = id_map[positions]
    ivf.set_direct_map_type(faiss.DirectMap.NoMap)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    logger.info("IVF index migrated to hold its own ids ({} vectors)", inner.ntotal)
    return inner


def gpu_count() -> int:
    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


def train_on_gpu(factory: str, gpus: int) -> bool:
    """IVF-family training (k-means) moves to the GPU when faiss-gpu sees one; HNSW has no GPU build in FAISS."""
    return gpus > 0 and "IVF" in factory


def training_rows(n: int, seed: int = 0, sample: int = 100_000) -> np.ndarray:
    """Sorted rows of n vectors that train an index (one rule for one-shot and sharded builds)."""
    return np.sort(np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False))


def train_index(index: faiss.Index, vectors: np.ndarray, sample: int = 100_000, seed: int = 0,
                factory: str = "") -> faiss.Index:
    """Train on a sample (all of ``vectors`` when they are the sample); returns the trained (CPU) index, which may
    be a new object after GPU training."""
    if index.is_trained:
        return index
    rows = training_rows(len(vectors), seed, sample)
    sample_vectors = np.ascontiguousarray(vectors[rows])
    start = time.perf_counter()
    if train_on_gpu(factory, gpu_count()):
        on_gpu = faiss.index_cpu_to_all_gpus(index)
        on_gpu.train(sample_vectors)
        index = faiss.index_gpu_to_cpu(on_gpu)
        where = "GPU"
    else:
        index.train(sample_vectors)
        where = "CPU"
    logger.info("trained index on {} vectors in {:.1f}s ({})", len(sample_vectors), time.perf_counter() - start, where)
    return index


def _knob(index: faiss.Index) -> tuple[str, tuple[int, ...]] | None:
    if isinstance(_unwrapped(index), faiss.IndexHNSW):
        return "efSearch", EF_SEARCH
    return None if _ivf_of(index) is None else ("nprobe", NPROBE)


def search_parameters(params: dict[str, int], k: int, selector: faiss.IDSelector | None = None):
    """Per-call FAISS parameters for recorded ``params`` and ``k`` results, restricted by ``selector``.

    The caller keeps ``selector`` alive until the search returns (the parameters only point to it).
    """
    selector = {} if selector is None else {"sel": selector}
    if "efSearch" in params:
        return faiss.SearchParametersHNSW(efSearch=max(int(params["efSearch"]), k), **selector)
    if "nprobe" in params:
        return faiss.SearchParametersIVF(nprobe=int(params["nprobe"]), **selector)
    if params:
        raise ValueError(f"unknown search parameters {params}")
    return faiss.SearchParameters(**selector) if selector else None


def filtered_params(index: faiss.Index, params: dict[str, int], k: int, allowed: int) -> dict[str, int]:
    """Search parameters for ``k`` results among ``allowed`` items: an IVF index scans enough lists to meet about
    2k allowed items (a filter passing 1 % of the items leaves ~1 % of each list: the recorded nprobe would
    find fewer than k of them); others unchanged."""
    ivf = _ivf_of(index)
    if "nprobe" not in params or ivf is None or allowed <= 0:
        return params
    need = int(np.ceil(2.0 * k * ivf.nlist / allowed))
    return {**params, "nprobe": int(min(ivf.nlist, max(int(params["nprobe"]), need)))}


def allowed_selector(allowed: np.ndarray):
    """(selector, the array it reads) for ``allowed`` ids: a bitmap over ids (one bit each, built in numpy: a
    filter passing 300,000 of 1M items costs ~1 ms, where a hash set of them cost tens per query), or a hash set
    when ids are too sparse for a bitmap."""
    top = int(allowed.max()) + 1 if len(allowed) else 1
    if top > 64 * max(len(allowed), 1 << 20):
        return faiss.IDSelectorBatch(np.ascontiguousarray(allowed)), None
    bits = np.zeros(-(-top // 8) * 8, dtype=bool)
    bits[allowed] = True
    bitmap = np.packbits(bits, bitorder="little")  # FAISS reads bit (id & 7) of byte id >> 3
    return faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap)), bitmap  # n: the bitmap's bytes


def search_with(index: faiss.Index, queries: np.ndarray, k: int, params: dict[str, int],
                allowed: np.ndarray | None = None, excluded: np.ndarray | None = None, refine=None):
    """Search with recorded ``params``, only among ``allowed`` ids, or among all but ``excluded`` ones.

    With ``refine`` (``RefineCodes``), ``refine.factor`` x k candidates are fetched and re-scored from its codes.
    """
    fetch = k if refine is None else max(k, min(int(index.ntotal), max(refine.factor * k, MIN_FETCH)))
    inner = selector = bitmap = None
    if allowed is not None:
        selector, bitmap = allowed_selector(np.asarray(allowed, np.int64))
    elif excluded is not None and len(excluded):
        inner = faiss.IDSelectorBatch(np.ascontiguousarray(excluded, np.int64))
        selector = faiss.IDSelectorNot(inner)
    extra = search_parameters(params, fetch, selector)
    found = index.search(queries, fetch) if extra is None else index.search(queries, fetch, params=extra)
    del selector, inner, bitmap  # only now: the parameters referenced them during the search
    return found if refine is None else refine.rerank(queries, found[1], k)


def stored_ids(index: faiss.Index) -> np.ndarray | None:
    """The ids an id-mapped index holds (deleted-but-kept graph nodes included); None for other kinds."""
    return faiss.vector_to_array(index.id_map) if isinstance(index, faiss.IndexIDMap2) else None


def can_remove(index: faiss.Index) -> bool:
    """HNSW cannot delete from its graph (FAISS raises); every other type we build can."""
    return not isinstance(_unwrapped(index), faiss.IndexHNSW)


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean over queries of |found ∩ truth| / |truth| (rows of ids; -1 entries ignored)."""
    hits = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, (t >= 0).sum()) for f, t in zip(found, truth)]
    return float(np.mean(hits)) if hits else float("nan")


def _drop_self(found: np.ndarray, own: np.ndarray, k: int) -> np.ndarray:
    return np.array([[i for i in row if i != me][:k] for row, me in zip(found, own)])


def tune_search(
    index: faiss.Index, exact: faiss.Index | np.ndarray, queries: np.ndarray, own_ids: np.ndarray, target: float,
    k: int = 100, refine=None,
) -> tuple[dict[str, int], float]:
    """Smallest search setting reaching ``target`` recall@k against ``exact`` (an exact index, or the ids of each
    query's exact top k + 1); the best one if none does. Recall is measured on the search as served, refinement
    (``refine``) included.
    """
    knob = _knob(index)
    truth = exact[:, : k + 1] if isinstance(exact, np.ndarray) else exact.search(queries, k + 1)[1]
    truth = _drop_self(truth, own_ids, k)
    if knob is None:
        return {}, recall_at(_drop_self(search_with(index, queries, k + 1, {}, refine=refine)[1], own_ids, k), truth)
    name, values = knob
    best = ({name: values[-1]}, -1.0)
    for value in values:
        _, found = search_with(index, queries, k + 1, {name: value}, refine=refine)
        recall = recall_at(_drop_self(found, own_ids, k), truth)
        if recall > best[1]:
            best = ({name: value}, recall)
        if recall >= target:
            return {name: value}, recall
    return best


def exact_top_ids(queries: np.ndarray, parts, k: int, refine=None, block: int = 20_000) -> np.ndarray:
    """Ids of each query's exact top k over (ids, vectors) parts seen one at a time (memory: one part);
    each part is also added to ``refine`` when given."""
    best_scores = np.full((len(queries), 0), -np.inf, np.float32)
    best_ids = np.zeros((len(queries), 0), np.int64)
    for ids, vectors in parts:
        if refine is not None:
            refine.add(ids, vectors)
        for start in range(0, len(ids), block):
            sims = queries @ vectors[start : start + block].T
            top = np.argpartition(-sims, min(k, sims.shape[1]) - 1, axis=1)[:, :k]
            scores = np.concatenate([best_scores, np.take_along_axis(sims, top, 1)], axis=1)
            found = np.concatenate([best_ids, ids[start : start + block][top]], axis=1)
            keep = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            best_scores, best_ids = np.take_along_axis(scores, keep, 1), np.take_along_axis(found, keep, 1)
    return best_ids


def exact_search_among(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int):
    """(scores, ids), each (n_queries, k) padded with -inf / -1: exact inner product over the given vectors."""
    sims = queries @ vectors.T if len(ids) else np.zeros((len(queries), 0), dtype=np.float32)
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    found = np.full((len(queries), k), -1, dtype=np.int64)
    for q in range(len(queries)):
        best = np.lexsort((ids, -sims[q]))[:k]
        scores[q, : len(best)], found[q, : len(best)] = sims[q, best], ids[best]
    return scores, found


def ensure_direct_map(index: faiss.Index) -> None:
    """IVF indexes can only look vectors up by id with a direct map; a hash-table one also allows deletes."""
    ivf = _ivf_of(index)
    if ivf is not None and ivf.direct_map.type == faiss.DirectMap.NoMap:
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)

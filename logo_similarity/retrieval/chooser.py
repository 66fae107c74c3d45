"""Which FAISS index to build, as a pure function of (vector count, dimension, memory budget).

Follows autofaiss' reasoning: exact search while it is cheap, HNSW while graph + raw vectors fit in memory,
IVF-Flat while raw vectors fit, IVF
with 8-bit scalar codes (dim bytes) while those fit, then OPQ + IVF-PQ whose codes fit, refined from 8-bit codes
kept on disk (retrieval/refine.py). Returns FAISS factory strings, best first; memory estimates (RAM, and disk
for the memory-mapped refinement codes) are returned alongside so callers can log why a choice was made.

IVF indexes carry a hash-table direct map (look-ups and deletes by id), counted at ``DIRECT_MAP_BYTES`` per
vector: a std::unordered_map node and bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EXACT_BELOW = 5_000
HNSW_M = 32
DIRECT_MAP_BYTES = 40


@dataclass(frozen=True)
class IndexChoice:
    factory: str
    bytes_estimate: int  # RAM
    exact: bool
    refine: str | None = None  # re-scoring codes kept beside the index, memory-mapped
    disk_bytes: int = 0  # of the refinement codes (page cache, not the budget)


def ivf_lists(n: int) -> int:
    """Number of IVF cells: ~4 sqrt(n) rounded to a power of two, at least 16 vectors per cell."""
    target = 4 * math.sqrt(max(n, 1))
    lists = 2 ** max(4, round(math.log2(target)))
    while lists > 16 and n / lists < 16:
        lists //= 2
    return lists


def pq_bytes(dim: int, budget_per_vector: float) -> int:
    """Largest PQ code size (bytes per vector, 8-bit sub-quantisers) that fits, with >= 4 dims per sub-vector
    (1-dimensional sub-vectors make OPQ training very slow for no accuracy gain)."""
    for m in (256, 128, 96, 64, 48, 32, 24, 16, 8, 4):
        # + id (int64) in the inverted lists and the direct map's entry, per vector
        if 4 * m <= dim and m + 8 + DIRECT_MAP_BYTES <= budget_per_vector:
            return m
    return 0


def choose_index(n: int, dim: int, memory_bytes: int) -> list[IndexChoice]:
    """Candidate index types for ``n`` vectors of ``dim`` float32 dims within ``memory_bytes``, best first.

    Raises ValueError when not even the smallest product-quantised index fits.
    """
    if n < 0 or dim <= 0 or memory_bytes <= 0:
        raise ValueError(f"bad sizes: n={n}, dim={dim}, memory={memory_bytes}")
    raw = n * dim * 4
    ids = n * 8
    choices: list[IndexChoice] = []
    if n < EXACT_BELOW and raw + ids <= memory_bytes:
        choices.append(IndexChoice("Flat", raw + ids, exact=True))
    hnsw = raw + ids + n * HNSW_M * 2 * 4
    if hnsw <= memory_bytes and n >= EXACT_BELOW:
        choices.append(IndexChoice(f"HNSW{HNSW_M},Flat", hnsw, exact=False))
    lists = ivf_lists(n)
    centroids = lists * dim * 4
    ivf_flat = raw + n * (8 + DIRECT_MAP_BYTES) + centroids
    if ivf_flat <= memory_bytes and n >= EXACT_BELOW:
        choices.append(IndexChoice(f"IVF{lists},Flat", ivf_flat, exact=False))
    ivf_sq8 = n * (dim + 8 + DIRECT_MAP_BYTES) + centroids
    if ivf_sq8 <= memory_bytes and n >= EXACT_BELOW:
        choices.append(IndexChoice(f"IVF{lists},SQ8", ivf_sq8, exact=False))
    per_vector = (memory_bytes - centroids) / max(n, 1)
    m = pq_bytes(dim, per_vector)
    if m and n >= EXACT_BELOW:
        opq_dim = min(dim, m * 4)
        choices.append(IndexChoice(f"OPQ{m}_{opq_dim},IVF{lists},PQ{m}x8",
                                   n * (m + 8 + DIRECT_MAP_BYTES) + lists * opq_dim * 4, False,
                                   refine="SQ8", disk_bytes=n * (dim + 8)))
    if not choices and n < EXACT_BELOW:
        raise ValueError(f"{n} x {dim} vectors need {raw + ids} bytes for exact search; budget is {memory_bytes}")
    if not choices:
        raise ValueError(f"no index of {n} x {dim} vectors fits in {memory_bytes} bytes (even PQ4 needs 12 B/vector)")
    return choices

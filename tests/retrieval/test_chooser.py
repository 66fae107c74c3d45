import pytest

from logo_similarity.retrieval.chooser import choose_index, ivf_lists

GB = 1024**3


@pytest.mark.parametrize(
    "n, dim, memory, first",
    [
        (300, 1280, 1 * GB, "Flat"),
        (4_999, 256, 1 * GB, "Flat"),
        (100_000, 256, 4 * GB, "HNSW32,Flat"),
        (200_000, 256, 4 * GB, "HNSW32,Flat"),
        (1_000_000, 256, 2 * GB, "HNSW32,Flat"),  # 1.02 GB raw + 0.26 GB graph
        (100_000, 256, 110 * 1024**2, "IVF1024,Flat"),  # 102 MB raw: the graph (+26 MB) no longer fits
        (1_000_000, 256, 512 * 1024**2, "IVF4096,SQ8"),  # 304 B per vector
        (1_000_000, 256, 200 * 1024**2, "OPQ64_256,IVF4096,PQ64x8"),
        (10_000_000, 256, 2 * GB, "OPQ64_256,IVF16384,PQ64x8"),
        (10_000_000, 256, 1 * GB, "OPQ48_192,IVF16384,PQ48x8"),
        (10_000_000, 1280, 1 * GB, "OPQ48_192,IVF16384,PQ48x8"),
    ],
)
def test_choice_table(n, dim, memory, first):
    choices = choose_index(n, dim, memory)
    assert choices[0].factory == first
    assert all(c.bytes_estimate <= memory for c in choices)
    # product-quantised choices always come refined, the codes' size on disk accounted
    assert all((c.refine == "SQ8" and c.disk_bytes == n * (dim + 8)) == (",PQ" in c.factory) for c in choices)


def test_exact_only_when_small():
    assert [c.exact for c in choose_index(100, 64, GB)] == [True]
    assert not any(c.exact for c in choose_index(50_000, 64, GB))


@pytest.mark.parametrize("n, lists", [(0, 16), (1_000, 32), (100_000, 1024), (1_000_000, 4096), (10_000_000, 16384)])
def test_ivf_lists(n, lists):
    assert ivf_lists(n) == lists


def test_nothing_fits_is_an_error():
    with pytest.raises(ValueError, match="no index"):
        choose_index(100_000_000, 256, 100 * 1024**2)
    with pytest.raises(ValueError, match="bad sizes"):
        choose_index(10, 0, GB)

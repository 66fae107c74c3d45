"""Filter columns give exactly the items ``ItemFilter.accepts`` lets through, on messy metadata."""

import random

import numpy as np

from logo_similarity.retrieval.filter_columns import FilterColumns, vienna_prefixes
from logo_similarity.retrieval.filters import ItemFilter

CODES = ["27.05.01", "27.05.10", "27.051.01", "26.01.03", "26.04.05", "01.01.01", "27.01.01", "03.07.16"]


def _metadata(n: int, seed: int = 0) -> dict[int, dict]:
    rng = random.Random(seed)
    out = {}
    for i in rng.sample(range(10 * n), n):  # ids with gaps, not in order
        out[i] = {"id": i, "year": rng.choice([None, 1990, 2003, 2004, 2005, 2020]),
                  "vienna_codes": rng.sample(CODES, rng.randint(0, 3)) if rng.random() > 0.1 else None,
                  "nice_classes": rng.sample([3, 9, 25, 35, 42], rng.randint(0, 2)) if rng.random() > 0.1 else None}
    return out


def test_columns_accept_what_the_filter_accepts():
    metadata = _metadata(600)
    columns = FilterColumns(metadata)
    filters = [ItemFilter(vienna=v) for v in ("27", "27.05", "27.05.01", "26", "99", "03.07.16")]
    filters += [ItemFilter(year_from=2003), ItemFilter(year_to=2004), ItemFilter(year_from=2003, year_to=2005),
                ItemFilter(year_from=2030), ItemFilter(nice=frozenset({9})), ItemFilter(nice=frozenset({9, 42})),
                ItemFilter(nice=frozenset({44})), ItemFilter(vienna="27.05", nice=frozenset({35}), year_from=2004),
                ItemFilter()]
    for item_filter in filters:
        expected = np.array(sorted(i for i, m in metadata.items() if item_filter.accepts(m)), dtype=np.int64)
        np.testing.assert_array_equal(columns.allowed(item_filter), expected, err_msg=str(item_filter))
    assert len(columns.allowed(ItemFilter(vienna="27.05"))) > 0  # the cases are not all empty
    assert vienna_prefixes("27.05.01") == ["27", "27.05", "27.05.01"]

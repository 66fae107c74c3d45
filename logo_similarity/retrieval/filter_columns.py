"""The items a filter lets through, from columns built once per index version instead of every item's metadata
read in Python per query (~0.5 s at 1M items).

Rows are the items in id order. Years are one int32 column (-1: none); Nice classes and every level of every
Vienna code (division "27", section "27.05", code "27.05.01") each hold the sorted rows that carry them, so a
filter is a few vectorised comparisons and scatters into one boolean mask, whatever the number of items:
``ItemFilter.accepts`` is the rule, and this gives the same answer (tested against it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

import numpy as np

from logo_similarity.retrieval.filters import ItemFilter


def vienna_prefixes(code: str) -> list[str]:
    """A code and the levels above it: "27.05.01" -> ["27", "27.05", "27.05.01"]."""
    parts = code.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


class FilterColumns:
    def __init__(self, metadata: dict[int, dict[str, Any]]) -> None:
        self.ids = np.array(sorted(metadata), dtype=np.int64)
        self.years = np.full(len(self.ids), -1, dtype=np.int32)
        vienna: dict[str, list[int]] = defaultdict(list)
        nice: dict[int, list[int]] = defaultdict(list)
        for row, item in enumerate(self.ids.tolist()):
            meta = metadata[item]
            year = meta.get("year")
            if year is not None:
                self.years[row] = int(year)
            for prefix in {p for code in meta.get("vienna_codes") or () for p in vienna_prefixes(code)}:
                vienna[prefix].append(row)
            for cls in {int(c) for c in meta.get("nice_classes") or ()}:
                nice[cls].append(row)
        self.vienna = {p: np.array(rows, dtype=np.int32) for p, rows in vienna.items()}
        self.nice = {c: np.array(rows, dtype=np.int32) for c, rows in nice.items()}

    def _any_of(self, groups: Iterable[np.ndarray]) -> np.ndarray:
        mask = np.zeros(len(self.ids), dtype=bool)
        for rows in groups:
            mask[rows] = True
        return mask

    def allowed(self, item_filter: ItemFilter) -> np.ndarray:
        """Sorted ids of the items ``item_filter`` accepts."""
        mask = np.ones(len(self.ids), dtype=bool)
        if item_filter.nice:
            mask &= self._any_of(self.nice[c] for c in item_filter.nice if c in self.nice)
        if item_filter.vienna is not None:
            rows = self.vienna.get(item_filter.vienna)
            mask &= self._any_of([rows] if rows is not None else [])
        if item_filter.year_from is not None or item_filter.year_to is not None:
            mask &= self.years >= 0  # items without a year never pass a year filter
        if item_filter.year_from is not None:
            mask &= self.years >= item_filter.year_from
        if item_filter.year_to is not None:
            mask &= self.years <= item_filter.year_to
        return self.ids[mask]

    @property
    def nbytes(self) -> int:
        return (self.ids.nbytes + self.years.nbytes + sum(a.nbytes for a in self.vienna.values())
                + sum(a.nbytes for a in self.nice.values()))

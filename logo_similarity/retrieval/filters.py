"""Metadata filters applied to search candidates: Vienna code prefix, Nice classes and year range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from logo_similarity.classification.nice import parse_nice
from logo_similarity.classification.vienna import CODE

VIENNA_PREFIX = CODE  # a prefix is written like a code


def vienna_matches(codes: list[str] | tuple[str, ...], prefix: str) -> bool:
    """True when any code is ``prefix`` or lies under it on a dot boundary ("27.05" matches "27.05.01", not "27.051")."""
    return any(code == prefix or code.startswith(prefix + ".") for code in codes)


@dataclass(frozen=True)
class ItemFilter:
    vienna: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    nice: frozenset[int] = frozenset()  # any of these goods/services classes

    def __post_init__(self) -> None:
        object.__setattr__(self, "nice", parse_nice(self.nice if not isinstance(self.nice, frozenset)
                                                    else sorted(self.nice)))
        if self.vienna is not None and not VIENNA_PREFIX.match(self.vienna):
            raise ValueError(f"vienna must be a code prefix like 27 or 27.05 or 27.05.01, got {self.vienna!r}")
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise ValueError(f"year_from {self.year_from} is after year_to {self.year_to}")

    @property
    def active(self) -> bool:
        return (self.vienna is not None or self.year_from is not None or self.year_to is not None
                or bool(self.nice))

    def accepts(self, meta: dict[str, Any]) -> bool:
        """Items without a year, codes or classes never pass a year, Vienna or Nice filter."""
        if self.nice and not self.nice.intersection(int(c) for c in meta.get("nice_classes") or ()):
            return False
        if self.vienna is not None and not vienna_matches(meta.get("vienna_codes") or [], self.vienna):
            return False
        year = meta.get("year")
        if self.year_from is not None and (year is None or year < self.year_from):
            return False
        if self.year_to is not None and (year is None or year > self.year_to):
            return False
        return True

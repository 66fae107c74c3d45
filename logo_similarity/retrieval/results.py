"""What a search returns per mark (made by the query path, search/query.py; rendered by the API, CLI and sheets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any



@dataclass(frozen=True)
class SearchResult:
    rank: int
    id: int
    score: float
    key: str
    file: str
    text: str | None
    vienna_codes: list[str] = field(default_factory=list)
    year: int | None = None
    nice_classes: list[int] = field(default_factory=list)
    components: dict[str, float | None] = field(default_factory=dict)
    explanation: dict[str, Any] = field(default_factory=dict)  # where the text came from, spatial matches
    conflict_score: float | None = None  # calibrated probability of a conflict (re-ranked results only)
    tier: str | None = None  # high | medium | low, from conflict_score

    @classmethod
    def from_hit(cls, rank: int, score: float, meta: dict[str, Any], explanation: dict[str, Any] | None = None,
                 conflict: tuple[float, str] | None = None, **components: float | None) -> SearchResult:
        return cls(
            rank=rank,
            id=int(meta["id"]),
            score=float(score),
            key=meta["key"],
            file=meta["file"],
            text=meta.get("text"),
            vienna_codes=list(meta.get("vienna_codes") or []),
            year=meta.get("year"),
            nice_classes=[int(c) for c in meta.get("nice_classes") or ()],
            components=components,
            explanation=dict(explanation or {}),
            conflict_score=None if conflict is None else float(conflict[0]),
            tier=None if conflict is None else str(conflict[1]),
        )


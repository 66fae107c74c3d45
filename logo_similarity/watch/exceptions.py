"""Exception rules of a watch list: pairs that are not conflicts whatever they look like, suppressed from the
alerts and said so (the alert is kept with the rule that suppressed it, state ``suppressed``).

- ``own_marks``: the filing's applicant owns the watched mark (same applicant identifier, or the same name, case
  and spacing aside): an owner's new filing is no conflict with their own mark;
- ``owners``: filings by these applicants (licensees, group companies), by name or identifier;
- ``vienna``: filings carrying a code under one of these Vienna prefixes (a division such as 27.05: letters).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def _norm(name: str | None) -> str:
    return " ".join((name or "").casefold().split())


@dataclass(frozen=True)
class ExceptionRules:
    own_marks: bool = True
    owners: tuple[str, ...] = ()
    vienna: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ExceptionRules:
        data = data or {}
        return cls(bool(data.get("own_marks", True)), tuple(data.get("owners") or ()), tuple(data.get("vienna") or ()))

    def suppressed_by(self, mark: dict[str, Any], filing: dict[str, Any]) -> str | None:
        """The rule that suppresses this (watched mark, filing) pair, in words, or None."""
        filing_owner, filing_id = _norm(filing.get("owner")), _norm(filing.get("owner_id"))
        if self.own_marks:
            same_id = filing_id and filing_id == _norm(mark.get("owner_id"))
            same_name = filing_owner and filing_owner == _norm(mark.get("owner"))
            if same_id or same_name:
                return f"own mark: the filing's applicant ({filing.get('owner') or filing.get('owner_id')}) owns it"
        for owner in self.owners:
            if _norm(owner) in (filing_owner, filing_id) and _norm(owner):
                return f"excepted applicant: {owner}"
        for prefix in self.vienna:
            hit = next((c for c in filing.get("vienna_codes") or () if c == prefix or c.startswith(prefix + ".")), None)
            if hit:
                return f"excepted Vienna class {prefix} ({hit})"
        return None


__all__ = ["ExceptionRules"]

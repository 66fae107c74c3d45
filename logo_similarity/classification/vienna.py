"""The Vienna classification of figurative elements as data: titles of categories, divisions and (from a user's
file) sections, with the hierarchy the re-ranker and the dataset builder use.

Codes are written ``27``, ``27.05`` or ``27.05.01`` (EUIPO pads each level to two digits, WIPO does not); both
forms mean the same entry. The shipped table (``data/vienna_en.tsv``) has the 29 categories and their divisions;
a file of ``code<TAB>title`` lines (WIPO's list, or the ``vienna_codes`` file of the L3D dataset) given as
``vienna.file`` adds sections and replaces titles, and is taken as complete for every category it covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

# The one definition of a well-formed Vienna code (and of a code prefix, written the same way): 1 to 4
# dot-separated levels of 1-2 digits (category 27, division 27.05, section 27.05.01, and a fourth level: some
# offices subdivide sections). Datasets, filters and the API all use it, so the API accepts exactly what a dataset
# may contain.
CODE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}$")
SHIPPED = "vienna_en.tsv"


class ViennaFileError(ValueError):
    """A Vienna table that cannot be read: a clear message, never a half-loaded table."""


def canonical(code: str) -> str:
    """``"5.3.1"`` and ``"05.03.01"`` are both ``"05.03.01"``; raises ValueError for anything not a code."""
    code = code.strip()
    if not CODE.match(code):
        raise ValueError(f"not a Vienna code: {code!r} (expected e.g. 27, 27.05 or 27.05.01)")
    return ".".join(f"{int(part):02d}" for part in code.split("."))


@dataclass(frozen=True)
class ViennaEntry:
    code: str  # canonical
    title: str
    check: str = "wipo"  # how the title was checked (see the shipped file's header)

    @property
    def level(self) -> int:
        return self.code.count(".") + 1


@dataclass
class ViennaClassification:
    entries: dict[str, ViennaEntry] = field(default_factory=dict)
    complete: set[str] = field(default_factory=set)  # categories whose divisions are all listed
    # (category, depth) pairs the table has entries at: problem() runs per candidate code when re-ranking
    _levels: set[tuple[str, int]] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._levels = {(code.split(".")[0], e.level) for code, e in self.entries.items()}

    def title(self, code: str) -> str | None:
        entry = self.entries.get(canonical(code))
        return entry.title if entry else None

    def path(self, code: str) -> list[ViennaEntry]:
        """The known entries from the category down to ``code`` (as deep as the table goes)."""
        parts = canonical(code).split(".")
        found = []
        for depth in range(1, len(parts) + 1):
            entry = self.entries.get(".".join(parts[:depth]))
            if entry is None:
                break
            found.append(entry)
        return found

    def describe(self, code: str) -> str:
        """``"26.01.01 Circles, ellipses > ..."``: the code and its titles, deepest known last."""
        path = self.path(code)
        return f"{canonical(code)} " + " > ".join(e.title for e in path) if path else code

    def problem(self, code: str) -> str | None:
        """Why ``code`` is not a Vienna code, or None: its category is unknown, or its division is missing from a
        category this table lists completely. Sections are only checked against a user's complete file."""
        try:
            parts = canonical(code).split(".")
        except ValueError as exc:
            return str(exc)
        if parts[0] not in self.entries:
            return f"unknown Vienna category {parts[0]} in {code!r}"
        for depth in range(2, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix not in self.entries and self._lists_level(parts[0], depth):
                kind = "division" if depth == 2 else "section"
                return f"unknown Vienna {kind} {prefix} in {code!r}"
        return None

    def _lists_level(self, category: str, depth: int) -> bool:
        return category in self.complete and (category, depth) in self._levels


def _read_rows(text: str, source: str) -> list[tuple[str, str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 2:
            parts = line.strip().split(None, 1)
        if len(parts) < 2 or not CODE.match(parts[0].strip()):
            raise ViennaFileError(f"{source}, line {number}: expected 'code<TAB>title', got {line[:80]!r}")
        title = parts[1].strip()
        if title.isupper():  # WIPO prints category and division titles in capitals
            title = title[0] + title[1:].lower()
        rows.append((canonical(parts[0]), title, parts[2].strip() if len(parts) > 2 else "wipo"))
    return rows


def _build(rows: list[tuple[str, str, str]], base: ViennaClassification | None = None) -> ViennaClassification:
    entries = dict(base.entries) if base else {}
    for code, title, check in rows:
        entries[code] = ViennaEntry(code, title, check)
    table = ViennaClassification(entries, set(base.complete) if base else set())
    by_category: dict[str, set[str]] = {}
    for code, _, check in rows:
        by_category.setdefault(code.split(".")[0], set()).add(check)
    table.complete |= {cat for cat, checks in by_category.items() if checks == {"wipo"} and
                       any(c.startswith(cat + ".") for c, _, _ in rows)}
    return table


@lru_cache(maxsize=4)
def load_vienna(extra_file: str | None = None) -> ViennaClassification:
    """The shipped table, with ``extra_file`` (a user's ``code<TAB>title`` file) over it when given."""
    shipped = resources.files("logo_similarity.classification").joinpath("data", SHIPPED).read_text("utf-8")
    table = _build(_read_rows(shipped, SHIPPED))
    if extra_file:
        path = Path(extra_file).expanduser()
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ViennaFileError(f"cannot read the Vienna file {path}: {exc}") from exc
        table = _build(_read_rows(text, str(path)), table)
    return table

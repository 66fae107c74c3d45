"""Nice classes of goods (1-34) and services (35-45), as the search filter reads them."""

from __future__ import annotations

NICE_CLASSES = range(1, 46)


def parse_nice(value: str | list[int] | tuple[int, ...] | None) -> frozenset[int]:
    """``"9,42"`` (or ``[9, 42]``) as a set of classes; raises ValueError naming what is not a Nice class."""
    if value is None or value == "":
        return frozenset()
    items = value.split(",") if isinstance(value, str) else list(value)
    classes = set()
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not text.isdigit() or int(text) not in NICE_CLASSES:
            raise ValueError(f"Nice classes are whole numbers from 1 to 45, got {text!r}")
        classes.add(int(text))
    return frozenset(classes)

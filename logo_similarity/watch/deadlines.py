"""Opposition deadlines: a filing can be opposed for a period after its publication, set per office (EUIPO: 3
months). Pure date arithmetic."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day (30 Nov + 3 = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def opposition_deadline(published: str | None, office: str | None, months_by_office: dict[str, int]) -> str | None:
    """The last day to oppose (ISO) of a filing published on ``published`` (ISO) at ``office``: the office's
    period from ``months_by_office``, else its ``default``; None without a readable publication date."""
    try:
        day = date.fromisoformat((published or "")[:10])
    except ValueError:
        return None
    months = months_by_office.get(office or "", months_by_office.get("default"))
    return None if months is None else add_months(day, months).isoformat()


__all__ = ["add_months", "opposition_deadline"]

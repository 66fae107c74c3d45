"""``logo-sim names review`` / ``names apply``: the examiner's loop over names read by OCR (reporting/name_review.py),
and ``logo-sim edit``: one mark's fields corrected from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from logo_similarity.commands.options import ConfigOpt, IndexOpt, command_settings
from logo_similarity.reporting.name_review import ReviewSheet, read_corrections, review_candidates, write_review
from logo_similarity.indexing.edits import EditReport, edit_items
from logo_similarity.retrieval.index import SearchIndex


def names_review(
    out: Annotated[Path, typer.Option(help="folder for names.csv and names.html")],
    index_dir: IndexOpt = None,
    below: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="OCR confidence at or below which a name is "
                                                   "listed (default: classification.review_below)")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="list at most this many (least sure first)")] = None,
    config: ConfigOpt = None,
) -> ReviewSheet:
    """Export the names OCR read with low confidence: a CSV to fill in and an HTML sheet with thumbnails."""
    settings = command_settings(config)
    index = SearchIndex.load(index_dir or Path(settings.index.dir), mmap=True)
    threshold = settings.classification.review_below if below is None else below
    items = review_candidates(index.metadata, threshold)[:limit]
    return write_review(items, out, settings.image)


def names_apply(
    corrections: Annotated[Path, typer.Argument(help="the CSV from `logo-sim names review`, filled in")],
    index_dir: IndexOpt = None,
    config: ConfigOpt = None,
) -> EditReport:
    """Import reviewed names (and codes, classes, years) as one new index version; nothing is re-embedded."""
    settings = command_settings(config)
    edits = read_corrections(corrections, settings.classification.vienna_file)
    return edit_items(index_dir or Path(settings.index.dir), edits, settings.classification.vienna_file,
                      settings.index.lock_timeout_s)


def edit(
    item_id: Annotated[int, typer.Argument(help="the mark's id")],
    name: Annotated[Optional[str], typer.Option(help="its verbal element ('' clears it)")] = None,
    vienna_codes: Annotated[Optional[str], typer.Option(help="comma-separated, e.g. 27.05.01,26.01.03")] = None,
    nice_classes: Annotated[Optional[str], typer.Option(help="comma-separated, e.g. 9,42")] = None,
    year: Annotated[Optional[int], typer.Option(min=0, max=9999)] = None,
    index_dir: IndexOpt = None,
    config: ConfigOpt = None,
) -> EditReport:
    """Correct one mark's name, Vienna codes, Nice classes or year (only the options given change)."""
    settings = command_settings(config)
    change: dict = {}
    if name is not None:
        change["text"] = name
    if vienna_codes is not None:
        change["vienna_codes"] = [c.strip() for c in vienna_codes.split(",") if c.strip()]
    if nice_classes is not None:
        change["nice_classes"] = [c.strip() for c in nice_classes.split(",") if c.strip()]
    if year is not None:
        change["year"] = year
    if not change:
        raise typer.BadParameter("give at least one of --name, --vienna-codes, --nice-classes, --year")
    return edit_items(index_dir or Path(settings.index.dir), {item_id: change}, settings.classification.vienna_file,
                      settings.index.lock_timeout_s)

"""A watch list and filings with planted conflicts, rendered (shared by the watch tests)."""

from __future__ import annotations

import json
import sys

from logo_similarity.datasets.transforms import modified_copy
from logo_similarity.synthetic import render_composite
from tests.conftest import COLOURS, KINDS, draw_logo

CLI = [sys.executable, "-m", "logo_similarity.cli"]
NAMES = ["Kastrino", "Belmora", "Kodak", "Florispo", "Gorvinta", "Hamelot"]
PLANTED = {"near-copy": "mark-0", "same-device": "mark-1", "sound-alike": "mark-2"}


def write_marks(folder):
    """A CSV watch list of six marks: devices with names, Nice classes and an owner."""
    folder.mkdir()
    lines = ["image,name,nice_classes,vienna_codes,owner,id"]
    for i, name in enumerate(NAMES):
        draw_logo(KINDS[i], COLOURS[i % 6]).save(folder / f"m{i}.png")
        lines.append(f"m{i}.png,{name},9;{35 + i},26.01.01,Owner Ltd,mark-{i}")
    (folder / "marks.csv").write_text("\n".join(lines) + "\n")
    return folder / "marks.csv"


def write_filings(folder):
    """Filings: a near-copy of mark 0, mark 1's device in a composite under another word, an unrelated device
    named like mark 2 ("Codak" ~ "Kodak"), four unrelated marks, and a broken image."""
    folder.mkdir()
    rows = []

    def add(key, image, name, nice=(9,)):
        image.save(folder / f"{key}.png")
        rows.append({"id": key, "file": f"{key}.png", "text": name, "vienna_codes": [], "nice_classes": list(nice),
                     "published": "2026-11-02"})

    add("near-copy", modified_copy(draw_logo(KINDS[0], COLOURS[0]), seed=1)[0], None)
    add("same-device", render_composite(draw_logo(KINDS[1], COLOURS[1]), "Quorindel", "device"), "Quorindel")
    add("sound-alike", draw_logo(KINDS[9], COLOURS[3]), "Codak")
    for j, kind in enumerate(KINDS[7:11]):
        if kind != KINDS[9]:
            add(f"other-{j}", draw_logo(kind, COLOURS[(j + 2) % 6]), ["Tramvelo", "Sinupex", "Orbalith", "Wexmira"][j], (30,))
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    rows.append({"id": "broken", "file": "broken.png", "text": "Broken"})
    (folder / "filings.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "filings.jsonl"

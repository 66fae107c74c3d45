"""Fields beyond the L3D basics (``ocr_text``, ``source_file`` from ``logo-sim mask``, any other key) reach the
index's metadata.sqlite on build and add, and survive a rebuild."""

import json
import sqlite3

from logo_similarity.config import ImageSettings, TextSettings
from logo_similarity.datasets import read_dataset
from logo_similarity.datasets.records import record_from_metadata
from logo_similarity.embeddings import ThumbnailEmbedder
from logo_similarity.indexing import BuildRequest, build_index
from logo_similarity.retrieval import SearchIndex
from logo_similarity.indexing.update import add_items
from tests.conftest import COLOURS, KINDS, draw_logo


def dataset(tmp_path, kinds, name):
    entries = []
    for i, kind in enumerate(kinds):
        draw_logo(kind, COLOURS[i % len(COLOURS)]).save(tmp_path / f"{kind}.png")
        entries.append({"file": f"{kind}.png", "text": None, "vienna_codes": ["26.01.01"], "year": 2016,
                        "ocr_text": f"{kind.upper()} INC", "source_file": f"/orig/{kind}.jpg", "applicant": "ACME"})
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(e) for e in entries))
    return read_dataset(path)


def stored_rows(root):
    version = SearchIndex.load(root)  # validates the version first
    assert len(version)
    folder = (root / "current").resolve()
    with sqlite3.connect(folder / "metadata.sqlite") as db:
        return {key: (ocr, json.loads(extra or "{}"))
                for key, ocr, extra in db.execute("SELECT key, ocr_text, extra FROM items")}


def test_extras_are_stored_on_build_and_add_and_kept_by_a_rebuild(tmp_path):
    embedder, image = ThumbnailEmbedder(), ImageSettings()
    root = tmp_path / "idx"
    built, _ = build_index(BuildRequest(dataset(tmp_path, KINDS[:4], "a.jsonl"), image=image), embedder)
    built.save(root)
    add_items(root, dataset(tmp_path, KINDS[4:6], "b.jsonl"), embedder, image)
    rows = stored_rows(root)
    assert len(rows) == 6
    for kind in KINDS[:6]:
        ocr, extra = rows[f"{kind}.png"]
        assert ocr == f"{kind.upper()} INC"  # the ocr_text column, not only the JSON blob
        assert extra == {"source_file": f"/orig/{kind}.jpg", "applicant": "ACME"}

    # a rebuild re-reads the items from the index's metadata: the records it makes carry the extras again
    live = SearchIndex.load(root)
    records = [record_from_metadata(m) for _, m in sorted(live.metadata.items())]
    rebuilt, _ = build_index(BuildRequest(records, image=image, ids=sorted(live.metadata)), embedder)
    rebuilt.save(root)
    assert stored_rows(root) == rows
    assert len(SearchIndex.load(root).name_index(TextSettings().phonetic_weight).names) == 6  # the OCR'd names are searchable

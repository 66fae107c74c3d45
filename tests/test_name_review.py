"""The name review loop end to end: OCR names unnamed marks at index time (with a confidence), `names review`
lists them least sure first as a CSV and an HTML sheet, `names apply` imports the corrections as a new version
that changes only the named fields and re-embeds nothing."""

import csv
import os
import subprocess

import numpy as np

from logo_similarity.commands import names_review
from logo_similarity.datasets import LogoRecord
from logo_similarity.indexing import BuildRequest, build_index, stage2_data
from logo_similarity.retrieval import SearchIndex
from logo_similarity.retrieval.store.versions import versions_newest_first
from logo_similarity.search import Query, run_query
from logo_similarity.synthetic import render_text_logo
from tests.support.faults import CLI


def build(tmp_path, embedder, settings):
    records = []
    for i, word in enumerate(["NOVA", "ORBIT", "LUMEN"]):
        path = tmp_path / f"{i}.png"
        render_text_logo(word, seed=i, shape=False, size=44).save(path)
        records.append(LogoRecord(f"k{i}", path, text="Registered Name" if word == "LUMEN" else None,
                                  vienna_codes=("27.05.01",), year=2016))
    index, _ = build_index(BuildRequest(records, image=settings.image, stage2=stage2_data(embedder, settings)), embedder)
    root = tmp_path / "idx"
    index.save(root)
    return root


def test_review_round_trip(default_embedder, settings, model_cache, tmp_path):
    root = build(tmp_path, default_embedder, settings)
    before = SearchIndex.load(root)
    by_key = {m["key"]: m for m in before.metadata.values()}
    assert 0 < by_key["k0"]["ocr_confidence"] <= 1 and "ocr_confidence" not in by_key["k2"]

    sheet = names_review(tmp_path / "review", index_dir=root, below=1.0)
    rows = list(csv.DictReader(open(sheet.csv)))
    assert sorted(r["key"] for r in rows) == ["k0", "k1"]  # the registered name is not up for review
    confidences = [float(r["ocr_confidence"]) for r in rows]
    assert confidences == sorted(confidences)  # least sure first
    page = sheet.html.read_text()
    assert page.count("data:image/png;base64,") == 2 and "NOVA" in page

    for r in rows:  # the reviewer corrects one name and gives the other mark its classes
        if r["key"] == "k0":
            r["name"] = "NOVA LABS"
        else:
            r["nice_classes"] = "9; 42"
    with open(sheet.csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache)}
    done = subprocess.run([*CLI, "names", "apply", str(sheet.csv), "--index", str(root)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 changed" in done.stdout

    after = SearchIndex.load(root)
    assert len(versions_newest_first(root)) == 2  # one new version for the whole sheet
    ids = np.array(sorted(after.metadata))
    assert np.array_equal(after.vectors(ids), before.vectors(ids))  # nothing re-embedded
    new = {m["key"]: m for m in after.metadata.values()}
    assert new["k0"]["text"] == "NOVA LABS" and new["k0"]["ocr_text"] == "NOVA" and new["k0"]["name_reviewed"]
    assert new["k1"]["nice_classes"] == [9, 42] and new["k1"]["text"] is None
    for key in ("k0", "k1", "k2"):  # every field nobody named is as it was
        untouched = {k: v for k, v in by_key[key].items() if k not in ("text", "nice_classes", "name_reviewed")}
        assert {k: new[key].get(k) for k in untouched} == untouched
    hit = run_query(after, None, Query(text="NOVA LABS", k=1), settings).results[0]
    assert hit.key == "k0" and hit.explanation["text_source"]["candidate"] == "name"

    again = names_review(tmp_path / "review2", index_dir=root, below=1.0)
    assert [r["key"] for r in csv.DictReader(open(again.csv))] == ["k1"]  # a reviewed name is not listed again


def test_a_bad_sheet_applies_nothing(default_embedder, settings, model_cache, tmp_path):
    root = build(tmp_path, default_embedder, settings)
    sheet = tmp_path / "names.csv"
    sheet.write_text("id,name,nice_classes,vienna_codes\n0,GOOD NAME,,\n1,,99,\n2,,,26.06.01\n")
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache)}
    done = subprocess.run([*CLI, "names", "apply", str(sheet), "--index", str(root)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nothing applied" in done.stderr and "line 3" in done.stderr and "line 4" in done.stderr
    assert len(versions_newest_first(root)) == 1

"""The quick-start job on the bundled gallery of real logos."""

from logo_similarity.commands import demo
from tests.conftest import DEMO


def test_demo_finds_modified_copies_and_writes_sheets(tmp_path, model_cache, monkeypatch):
    monkeypatch.setenv("LOGO_SIM__MODEL__CACHE_DIR", str(model_cache))
    report = demo(gallery=DEMO / "metadata.jsonl", out=tmp_path / "out", index_dir=tmp_path / "index", queries=4, k=5)
    assert report.gallery_size == 300
    assert report.found_at_1 >= 3, [(r.title, [x.key for x in r.results]) for r in report.reports]
    assert report.html.read_text().count("<section>") == 4
    assert report.png.stat().st_size > 10_000
    assert len(list((tmp_path / "out" / "queries").glob("*.png"))) == 4

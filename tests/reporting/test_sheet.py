import numpy as np
from PIL import Image

from logo_similarity.reporting import QueryReport, write_html_sheet, write_png_sheet
from logo_similarity.retrieval import SearchResult
from tests.conftest import COLOURS, draw_logo


def _report(tmp_path):
    path = tmp_path / "star.png"
    draw_logo("star", COLOURS[1]).save(path)
    meta = {"id": 3, "key": "star", "file": str(path), "text": "STAR"}
    why = {"spatial_pairs": [[0.5, 0.2, 0.5, 0.25], [0.3, 0.6, 0.32, 0.6]],
           "text_source": {"query": "ocr", "candidate": "name", "query_text": "STAR", "candidate_text": "STAR"}}
    hit = SearchResult.from_hit(1, 0.9, meta, explanation=why, image=0.95, spatial=0.6, text=1.0, composite=0.9)
    return QueryReport("q", draw_logo("star", COLOURS[0]), [hit])


def test_sheets_show_the_components_and_the_matches(tmp_path):
    report = _report(tmp_path)
    page = write_html_sheet([report], tmp_path / "sheet.html").read_text()
    assert page.count("<line ") == 2 and "<svg class='match'" in page
    assert "image 0.95 · spatial 0.60 · text 1.00 · composite 0.90" in page and "(ocr)" in page
    png = np.asarray(Image.open(write_png_sheet([report], tmp_path / "sheet.png")).convert("RGB")).astype(int)
    orange = (np.abs(png - [224, 123, 0]).sum(axis=2) < 10).sum()
    assert orange >= 2 * 9  # a dot per matched point on the result tile

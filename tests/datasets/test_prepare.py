import json

from PIL import Image

from logo_similarity.config import ImageSettings
from logo_similarity.datasets import read_dataset
from logo_similarity.datasets.prepare import prepare_dataset


def test_prepare_keeps_readable_images_and_lists_rejects(tmp_path):
    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (40, 40), "red").save(tmp_path / "imgs" / "good.png")
    (tmp_path / "imgs" / "bad.png").write_bytes(b"not an image")
    Image.new("RGB", (2, 2)).save(tmp_path / "imgs" / "tiny.png")
    entries = [
        {"file": "imgs/good.png", "text": "GOOD", "vienna_codes": ["01.01.01"], "year": 2001},
        {"file": "imgs/bad.png", "text": "BAD"},
        {"file": "imgs/tiny.png"},
        {"file": "imgs/missing.png"},
    ]
    (tmp_path / "meta.jsonl").write_text("\n".join(json.dumps(e) for e in entries))
    report = prepare_dataset(read_dataset(tmp_path / "meta.jsonl"), tmp_path / "out", ImageSettings(), workers=2)
    assert report.kept == 1
    assert sorted(r["reason"] for r in report.rejects) == ["too_small", "unreadable", "unsupported_format"]
    kept = read_dataset(report.metadata)
    assert len(kept) == 1 and kept[0].text == "GOOD" and kept[0].path.is_absolute() and kept[0].path.is_file()
    assert kept[0].vienna_codes == ("01.01.01",) and kept[0].year == 2001
    lines = (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()
    assert len(lines) == 3

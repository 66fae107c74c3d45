import json

import pytest
from PIL import Image

from logo_similarity.datasets import DatasetError, read_dataset


def test_folder_of_images_recursively_sorted(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.png", "a.jpg", "sub/c.webp"):
        Image.new("RGB", (10, 10)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    records = read_dataset(tmp_path)
    assert [r.key for r in records] == ["a.jpg", "b.png", "sub/c.webp"]
    assert records[0].text is None and records[0].vienna_codes == ()


def test_l3d_json_list_and_jsonl_agree(tmp_path):
    entries = [
        {"file": "x.jpg", "text": "BRAND", "vienna_codes": ["27.05.01"], "year": 2016},
        {"file": "y.jpg", "text": None, "vienna_codes": [], "year": None, "extra_field": 1},
    ]
    (tmp_path / "meta.json").write_text(json.dumps(entries))
    (tmp_path / "meta.jsonl").write_text("\n".join(json.dumps(e) for e in entries) + "\n\n")
    a, b = read_dataset(tmp_path / "meta.json"), read_dataset(tmp_path / "meta.jsonl")
    assert a == b
    assert a[0].path == tmp_path / "x.jpg" and a[0].text == "BRAND" and a[0].vienna_codes == ("27.05.01",)
    assert a[1].extra == {"extra_field": 1}


def test_images_dir_overrides_base(tmp_path):
    (tmp_path / "meta.jsonl").write_text(json.dumps({"file": "x.jpg"}))
    assert read_dataset(tmp_path / "meta.jsonl", images_dir="/data/imgs")[0].path.as_posix() == "/data/imgs/x.jpg"


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"file": "a.png"}\n{oops', r"meta.jsonl:2: invalid JSON"),
        ('{"text": "x"}', "non-empty string 'file'"),
        ('{"file": "a.png", "vienna_codes": ["banana"]}', "vienna_codes"),
        ('{"file": "a.png", "year": "2016"}', "'year' must be an integer"),
        ('{"file": "a.png"}\n{"file": "a.png"}', "duplicate entry"),
        ("", "non-empty"),
    ],
)
def test_malformed_metadata_names_the_problem(tmp_path, content, message):
    (tmp_path / "meta.jsonl").write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_dataset(tmp_path / "meta.jsonl")


def test_missing_or_empty_sources(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_dataset(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no image files"):
        read_dataset(tmp_path)

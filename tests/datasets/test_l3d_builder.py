"""`logo-sim dataset build` on ST.66 fixtures written here: expected metadata and rejects, report, resume after kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from logo_similarity.datasets.l3d_builder import build_dataset
from tests.conftest import COLOURS, KINDS, draw_logo
from tests.datasets.test_st66 import trademark, transaction

CLI = [sys.executable, "-m", "logo_similarity.cli"]


def lines(path):
    return [json.loads(line) for line in open(path) if line.strip()]


@pytest.fixture()
def register(tmp_path):
    """Every kind of record: good (several images), namespaced/plain, missing and broken image, duplicate image,
    unknown Vienna code, no image, a record without number, and a malformed file."""
    src = tmp_path / "src"
    src.mkdir()
    draw_logo("ring", COLOURS[0], side=80).save(src / "a.png")
    draw_logo("star", COLOURS[1], side=60).save(src / "b1.jpg")
    draw_logo("triangle", COLOURS[2], side=70).save(src / "b2.png")
    draw_logo("crescent", COLOURS[3], side=64).save(src / "odd.png")
    Image.open(src / "a.png").save(src / "dup.png")  # the same pixels under another name
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (src / "1.xml").write_text(transaction([
        trademark("001", "ALPHA", images=[("a.png", ["27.05.01"])], classes=["9"], date="2016-02-01").replace(
            "</TradeMark>", "<PublicationDetails><Publication><PublicationDate>2016-03-15</PublicationDate>"
                            "</Publication></PublicationDetails></TradeMark>"),
        trademark("002", None, images=[("b1.jpg", ["26.01.03"]), ("b2.png", ["26.04.05", "01.01.01"])]),
        trademark("003", "GONE", images=[("missing.png", ["27.05.01"])]),
        trademark("004", "BROKEN", images=[("broken.jpg", ["27.05.01"])]),
        trademark("005", "COPY", images=[("dup.png", ["27.05.01"])]),
        trademark("006", "ODD", images=[("odd.png", ["26.04.05", "99.01.01"])]),
        trademark("007", "WORD", images=[]),
        "<TradeMark><MarkFeature>Word</MarkFeature></TradeMark>",
    ]))
    text = transaction([trademark("008", "PLAIN", images=[("b1.jpg", ["26.01.03"])])], namespaced=False)
    (src / "2.xml").write_text(text[: text.index("</TradeMark>")])  # cut off: malformed
    return src


def test_builds_items_and_rejects_with_reasons(register, tmp_path):
    out = tmp_path / "out"
    report = build_dataset([register], out, batch=3)
    items = lines(out / "metadata.jsonl")
    assert [(i["application_number"], i["image_index"], i["vienna_codes"]) for i in items] == [
        ("001", 0, ["27.05.01"]), ("002", 0, ["26.01.03"]), ("002", 1, ["26.04.05", "01.01.01"]),
        ("006", 0, ["26.04.05"])]
    # a code the table does not know costs the mark nothing: kept, the code flagged
    assert items[3]["vienna_unknown"] == ["99.01.01"] and all("vienna_unknown" not in i for i in items[:3])
    first = items[0]
    assert first["text"] == "ALPHA" and first["year"] == 2016 and first["nice_classes"] == [9]
    assert first["mark_feature"] == "Figurative" and items[1]["text"] is None
    assert first["published"] == "2016-03-15" and items[1]["published"] is None and first["owner"] is None
    for item in items:
        with Image.open(out / item["file"]) as image:
            assert image.size == (256, 256) and image.mode == "RGB"
            assert image.getpixel((0, 0)) == (255, 255, 255)  # padded on white
    rejects = lines(out / "rejects.jsonl")
    assert [(r["application_number"], r["reason"]) for r in rejects] == [
        ("003", "missing_image"), ("004", rejects[1]["reason"]), ("005", "duplicate_image"),
        ("007", "no_image"), (None, "no_application_number"),
        (None, "malformed_xml")]
    assert rejects[1]["reason"] not in ("missing_image", "duplicate_image")  # the loader's reason for a bad file
    assert rejects[2]["duplicate_of"] == "001/0"
    assert report.items == 4 and sum(report.rejects.values()) == 6 and report.vienna_unknown == {"99.01.01": 1}
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert summary["vienna_unknown"] == {"items": 1, "codes": {"99.01.01": 1}}
    assert summary["rejects_by_reason"]["duplicate_image"] == 1 and summary["vienna_categories"] == {"1": 1, "26": 3, "27": 1}
    for png in ("years.png", "vienna_categories.png"):
        assert (out / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_keep_repeats_keeps_each_application_whose_image_another_has(register, tmp_path):
    """A register or a watch needs every application: the mark whose image repeats another's is kept, naming the
    first, the image stored once; a build resumes only in the mode it began in (a clear error, through the CLI)."""
    out = tmp_path / "out"
    report = build_dataset([register], out, batch=3, keep_repeats=True)
    items = {i["application_number"]: i for i in lines(out / "metadata.jsonl")}
    assert items["005"]["same_image_as"] == "001/0" and items["005"]["file"] == items["001"]["file"]
    assert items["005"]["text"] == "COPY" and "same_image_as" not in items["001"]
    assert "duplicate_image" not in {r["reason"] for r in lines(out / "rejects.jsonl")}
    assert report.items == 5 and len(list((out / "images").iterdir())) == 4

    done = subprocess.run([*CLI, "dataset", "build", str(register), "--out", str(out)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "LOGO_SIM__LOG_LEVEL": "WARNING"})
    assert done.returncode != 0 and "--keep-repeats" in done.stderr and "Traceback" not in done.stderr
    assert len(lines(out / "metadata.jsonl")) == 5  # nothing lost

    twice = tmp_path / "twice"  # the same XML twice (an application in two transactions): its first listing kept
    build_dataset([register / "1.xml", register / "1.xml"], twice, keep_repeats=True)
    assert [i["id"] for i in lines(twice / "metadata.jsonl")] == ["001/0", "002/0", "002/1", "005/0", "006/0"]
    assert [r["duplicate_of"] for r in lines(twice / "rejects.jsonl") if r["reason"] == "duplicate_record"] == [
        "001/0", "002/0", "002/1", "005/0", "006/0"]


def test_killed_build_resumes_to_the_same_dataset(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    marks = []
    for i in range(400):
        draw_logo(KINDS[i % len(KINDS)], COLOURS[(i // len(KINDS)) % len(COLOURS)], side=48 + i % 97).save(src / f"{i}.png")
        marks.append(trademark(f"{i:05d}", f"N{i}", images=[(f"{i}.png", ["27.05.01"])]))
    (src / "big.xml").write_text(transaction(marks))
    reference = tmp_path / "reference"
    build_dataset([src], reference, side=64, batch=16)

    out = tmp_path / "out"
    args = [*CLI, "dataset", "build", str(src), "--out", str(out), "--side", "64", "--batch", "16"]
    env = {**os.environ, "LOGO_SIM__LOG_LEVEL": "WARNING"}
    kills = 0
    for delay in (0.8, 1.2, 1.6):
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert kills >= 1
    assert (out / "metadata.jsonl").read_text() == (reference / "metadata.jsonl").read_text()
    assert (out / "rejects.jsonl").read_text() == (reference / "rejects.jsonl").read_text()
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(p.name for p in (reference / "images").iterdir())


def test_eval_vienna_runs_on_a_dataset_the_builder_made(tmp_path, model_cache):
    """Builder output is L3D data the rest of the system reads: `logo-sim eval --vienna` on it, end to end.
    A division the Vienna table lists completely does not have (26.06) is an unknown code."""
    src = tmp_path / "src"
    src.mkdir()
    marks = []
    for i, (kind, code) in enumerate([("ring", "26.01.01"), ("ring", "26.01.03"), ("star", "01.01.02"),
                                      ("star", "1.1.5"), ("triangle", "26.03.01"), ("triangle", "26.03.04"),
                                      ("crescent", "26.06.01")]):
        draw_logo(kind, COLOURS[i % len(COLOURS)], side=72 + 4 * i).save(src / f"{i}.png")
        marks.append(trademark(f"{i:03d}", kind.upper(), images=[(f"{i}.png", [code])]))
    (src / "register.xml").write_text(transaction(marks))
    out = tmp_path / "out"
    report = build_dataset([src], out)
    assert report.items == 7 and not report.rejects
    kept = lines(out / "metadata.jsonl")
    assert kept[3]["vienna_codes"] == ["01.01.05"]  # stored in canonical form
    assert kept[6]["vienna_codes"] == [] and kept[6]["vienna_unknown"] == ["26.06.01"]
    env = {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache), "LOGO_SIM__LOG_LEVEL": "WARNING"}
    result = subprocess.run([*CLI, "eval", "--vienna", str(out / "metadata.jsonl"), "--json", str(tmp_path / "r.json")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    row = json.loads((tmp_path / "r.json").read_text())["tasks"]["vienna_level2"]
    assert row["n"] == 6 and 0.0 <= row["nar"] <= 1.0 and row["recall@1"] >= 0.5

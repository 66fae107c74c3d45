"""The training loop on tiny rendered data: validation picks the checkpoint, kill -9 + resume is exact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from logo_similarity.embeddings.model import load_checkpoint
from logo_similarity.training.checkpoint import load_state
from logo_similarity.training.trainer import train
from tests.training.conftest import tiny_settings

REPO = Path(__file__).resolve().parents[2]


def test_training_validates_keeps_the_best_and_writes_curves(train_data, tiny_bench, tmp_path):
    settings = tiny_settings(tmp_path, tiny_bench)
    report = train(settings, train_data, tmp_path / "run")
    assert report.steps == 6
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())
    scores = [row["val"]["mean"]["map@100"] for row in history if "val" in row]
    assert len(scores) == 3  # before training, at step 3 and at step 6
    assert report.best_score == max(scores)
    assert (tmp_path / "run" / "curves.png").stat().st_size > 1000
    assert (tmp_path / "run" / "metrics.csv").read_text().startswith("step,loss")
    extractor = load_checkpoint(tmp_path / "run" / "best.pt")  # the embedder's format, recipe and hash in the spec
    assert extractor.spec.weights.startswith("logo-sim-moco:")
    recipe = json.loads(extractor.spec.recipe)
    assert recipe["method"] == "moco-v3" and recipe["step"] == report.best_step


def test_kill_9_and_resume_gives_the_same_next_step_loss(train_data, tmp_path):
    overrides = {"steps": 400, "checkpoint_every": 1}
    settings = tiny_settings(tmp_path, None, **overrides)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    run = tmp_path / "killed"
    env = {**os.environ, "LOGO_SIM_CONFIG": str(config)}
    proc = subprocess.Popen([sys.executable, "-m", "logo_similarity.cli", "train", str(train_data), "--out", str(run)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            if (run / "last.pt").is_file() and load_state(run / "last.pt")["loop"]["step"] >= 3:
                break
            assert proc.poll() is None, "the training process ended before it could be killed"
            time.sleep(0.1)
        else:
            raise AssertionError("no checkpoint at step 3 in time")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = load_state(run / "last.pt")["loop"]["step"]
    assert 3 <= killed_at < overrides["steps"]

    resumed = train(settings, train_data, run, resume=True, until=killed_at + 1)
    assert resumed.steps == killed_at + 1
    reference = train(settings, train_data, tmp_path / "straight", until=killed_at + 1)
    assert reference.steps == killed_at + 1
    loss = {name: json.loads((tmp_path / name / "metrics.json").read_text())[-1]["loss"] for name in ("killed", "straight")}
    assert np.isclose(loss["killed"], loss["straight"], rtol=0, atol=1e-6), loss


def test_on_the_fly_views_train_the_whole_trunk(train_data, tmp_path):
    """The GPU recipe's path (augment on the fly, nothing frozen) runs on the CPU too, in fp32."""
    settings = tiny_settings(tmp_path, None, views=0, frozen_stages=0, steps=2, queue_size=0, loader_workers=2)
    from logo_similarity.embeddings.model import build_pretrained_extractor

    before = build_pretrained_extractor(settings.model, settings.image).trunk.conv_stem.weight.detach().clone()
    report = train(settings, train_data, tmp_path / "fly")
    assert report.steps == 2
    history = json.loads((tmp_path / "fly" / "metrics.json").read_text())
    assert all(np.isfinite(row["loss"]) for row in history)
    after = load_checkpoint(tmp_path / "fly" / "best.pt").trunk.conv_stem.weight
    assert not np.allclose(before.numpy(), after.detach().numpy())  # the stem was trained too


def test_amp_is_off_on_the_cpu_and_picked_on_cuda():
    import torch

    from logo_similarity.training.trainer import autocast_dtype

    assert autocast_dtype("auto", torch.device("cpu")) is None
    assert autocast_dtype("bf16", torch.device("cpu")) is None
    assert autocast_dtype("off", torch.device("cuda")) is None
    assert autocast_dtype("fp16", torch.device("cuda")) is torch.float16


def test_epochs_set_the_number_of_steps(train_data, tmp_path):
    settings = tiny_settings(tmp_path, None, epochs=0.25)  # 72 images / batch 8 = 9 steps an epoch
    assert train(settings, train_data, tmp_path / "epochs").steps == 2

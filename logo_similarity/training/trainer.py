"""The training loop: MoCo v3 over pairs of views, validated by retrieval, checkpointed atomically.

``train`` resumes from ``OUT/last.pt`` when asked; the best checkpoint (``OUT/best.pt``, the embedder's format)
is chosen by validation mean mAP@100 with early stopping; metrics go to ``OUT/metrics.csv`` / ``.json`` and a
PNG plot of the curves.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from loguru import logger
from tqdm import tqdm

from logo_similarity.config import Settings
from logo_similarity.embeddings.model import FeatureExtractor, build_pretrained_extractor, load_checkpoint
from logo_similarity.preprocessing.pipeline import Preprocessor, text_mask_descriptor
from logo_similarity.training.backbone import Encoder, OnnxStem, split_extractor
from logo_similarity.training.checkpoint import load_state, restore_rng, rng_states, save_extractor, save_state, trunk_hash
from logo_similarity.training.data import (
    BatchPlan,
    ImagePairs,
    StepBatches,
    bank_key,
    build_view_bank,
    load_train_set,
)
from logo_similarity.training.moco import MoCoV3, momentum_at
from logo_similarity.training.validation import load_validation_split, validation_key


@dataclass
class TrainReport:
    out: Path
    steps: int
    best_step: int | None
    best_score: float | None
    best_metrics: dict[str, Any] | None
    images_per_s: float
    seconds: float
    stopped_early: bool


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def _initial_extractor(settings: Settings, init: Path | None) -> FeatureExtractor:
    extractor = load_checkpoint(init) if init else build_pretrained_extractor(settings.model, settings.image)
    return extractor.train()


def train(settings: Settings, data: Path, out: Path, resume: bool = False, init: Path | None = None,
          max_seconds: float | None = None, until: int | None = None) -> TrainReport:
    """Fine-tune the embedder on ``data`` (folder or L3D metadata); see ``TrainSettings`` for the recipe.

    ``max_seconds`` / ``until`` (a step) end this run early with a checkpoint, for sessions of limited length:
    the next ``resume=True`` run goes on exactly where it stopped.
    """
    ts = settings.train
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(settings.model.threads)
    torch.manual_seed(ts.seed)
    extractor = _initial_extractor(settings, init)
    extractor.spec = replace(extractor.spec, text_mask=text_mask_descriptor(settings.text))
    preprocess = Preprocessor(extractor.spec, settings.text, settings.model.cache_dir)
    stem, tail = split_extractor(extractor, ts.frozen_stages, ts.bn_train)
    fast_stem = stem
    if ts.frozen_stages and device.type == "cpu":
        fast_stem = OnnxStem(stem, extractor.spec.input_size, out, settings.model.threads)
    train_set = load_train_set(data, ts.weak, ts.max_images, ts.seed)
    plan = BatchPlan(train_set, ts.batch_size, ts.seed, ts.weak_prob if ts.weak != "none" else 0.0)
    if ts.epochs is not None:
        ts = ts.model_copy(update={"steps": max(1, round(ts.epochs * plan.steps_per_epoch))})
    bank = loader = None
    if ts.views:
        if ts.views < 2:
            raise ValueError("views must be 0 (on the fly) or at least 2 (view 0 is the clean logo)")
        key = bank_key(train_set, extractor.spec.to_json(), ts.frozen_stages, ts.views, ts.seed)
        bank = build_view_bank(train_set, fast_stem, preprocess, settings.image, ts.views, ts.seed,
                               Path(ts.cache_dir) / f"views-{key}.npy")
        backbone = tail
    else:
        backbone = Encoder(stem, tail)
        loader = ImagePairs(train_set, preprocess, settings.image, ts.seed)
    validation = None
    if ts.val_bench and Path(ts.val_bench).is_dir():
        val_key = validation_key(Path(ts.val_bench), extractor.spec.to_json(), ts.frozen_stages,
                                 ts.val_queries_per_task, ts.seed)
        validation = load_validation_split(Path(ts.val_bench), preprocess, fast_stem, settings.image,
                                           ts.val_queries_per_task, ts.seed,
                                           cache=Path(ts.cache_dir) / f"val-{val_key}.npz")
    elif ts.val_bench:
        logger.warning("validation benchmark {} not found: no validation, the last step is kept", ts.val_bench)
    model = MoCoV3(backbone, extractor.trunk.num_features, ts.proj_hidden, ts.proj_dim, ts.temperature,
                   ts.queue_size, ts.seed).to(device)
    layout = torch.channels_last  # faster convolutions on CPU and with AMP on GPU
    model = model.to(memory_format=layout)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=ts.lr, weight_decay=ts.weight_decay)
    dtype = autocast_dtype(ts.amp, device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    not_recipe = {"val_bench", "loader_workers", "cache_dir", "checkpoint_every"}  # where, not how
    recipe = {"method": "moco-v3", **ts.model_dump(exclude=not_recipe),
              "input_size": extractor.spec.input_size, "data": str(data), "train_images": len(train_set.records)}
    state: dict[str, Any] = {"step": 0, "best_score": None, "best_step": None, "best_metrics": None, "bad": 0,
                             "history": []}
    if resume and (out / "last.pt").is_file():
        saved = load_state(out / "last.pt")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        restore_rng(saved["rng"])
        state = saved["loop"]
        logger.info("resumed at step {}", state["step"])

    def validate() -> dict[str, Any]:
        model.eval()
        metrics = validation.evaluate(lambda x: model.backbone(x.to(device)).float())
        model.train()
        return metrics

    def checkpoint() -> None:
        save_state(out / "last.pt", {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                     "scaler": scaler.state_dict(), "rng": rng_states(), "loop": state,
                                     "recipe": recipe})

    def keep(metrics: dict[str, Any] | None) -> None:
        spec = replace(extractor.spec, recipe=json.dumps({**recipe, "step": state["step"]}, sort_keys=True))
        trained = FeatureExtractor(extractor.trunk, spec)
        trained.spec = replace(spec, weights=f"logo-sim-moco:{trunk_hash(trained)}")
        save_extractor(trained, out / "best.pt", recipe, metrics or {})

    if validation is not None and state["step"] == 0 and not state["history"]:
        base = validate()
        state["history"].append({"step": 0, "val": base})
        state["best_score"], state["best_step"], state["best_metrics"] = base["mean"]["map@100"], 0, base
        keep(base)  # best.pt always exists; it stays the starting point if training never beats it
        logger.info("step 0 (pretrained): validation mean mAP@100 {:.4f}", base["mean"]["map@100"])
    model.train()
    start, seen, stopped = time.perf_counter(), 0, False
    bar = tqdm(range(state["step"], ts.steps), initial=state["step"], total=ts.steps, desc="train", mininterval=2)
    batches = iter(torch.utils.data.DataLoader(
        loader, batch_sampler=StepBatches(plan, state["step"], ts.steps), num_workers=ts.loader_workers,
        pin_memory=device.type == "cuda")) if loader is not None else None
    for step in bar:
        first, second = plan.images(step)
        if bank is not None:
            x1, x2 = bank.pair(first, second, step, ts.seed)
        else:
            x1, x2 = next(batches)
        groups = torch.from_numpy(plan.groups[first]).to(device)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, ts.steps, ts.lr, ts.warmup_steps)
        ctx = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
        with ctx:
            loss = model(x1.to(device, memory_format=layout), x2.to(device, memory_format=layout), groups, momentum_at(step, ts.steps, ts.momentum))
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        seen += 2 * len(first)
        state["step"] = step + 1
        row = {"step": step + 1, "loss": loss.item(), "lr": optimizer.param_groups[0]["lr"],
               "img_per_s": seen / (time.perf_counter() - start)}
        bar.set_postfix(loss=f"{row['loss']:.3f}")
        if validation is not None and ((step + 1) % ts.val_every == 0 or step + 1 == ts.steps):
            metrics = validate()
            row["val"] = metrics
            score = metrics["mean"]["map@100"]
            logger.info("step {}: loss {:.4f}, validation mean mAP@100 {:.4f}", step + 1, row["loss"], score)
            if state["best_score"] is None or score > state["best_score"]:
                state.update(best_score=score, best_step=step + 1, best_metrics=metrics, bad=0)
                keep(metrics)
            else:
                state["bad"] += 1
                stopped = state["bad"] >= ts.patience
        state["history"].append(row)
        if "val" in row:
            write_metrics(out, state["history"])
        over_time = (max_seconds is not None and time.perf_counter() - start > max_seconds) or step + 1 == until
        if (step + 1) % ts.checkpoint_every == 0 or stopped or over_time or step + 1 == ts.steps:
            checkpoint()
        if stopped:
            logger.info("early stop at step {}: no better validation in {} checks", step + 1, ts.patience)
            break
        if over_time:
            logger.info("time budget reached at step {}; resume with --resume", step + 1)
            break
    if validation is None and state["step"] == ts.steps:
        keep(None)
        state.update(best_step=state["step"])
    elapsed = time.perf_counter() - start
    write_metrics(out, state["history"])
    return TrainReport(out, state["step"], state["best_step"], state["best_score"], state["best_metrics"],
                       seen / elapsed if elapsed else 0.0, elapsed, stopped)


def write_metrics(out: Path, history: list[dict[str, Any]]) -> None:
    (out / "metrics.json").write_text(json.dumps(history, indent=1))
    with open(out / "metrics.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "loss", "lr", "img_per_s", "val_mean_map100", "val_modified_copy_r10"])
        for row in history:
            val = row.get("val") or {}
            writer.writerow([row["step"], row.get("loss", ""), row.get("lr", ""), row.get("img_per_s", ""),
                             val.get("mean", {}).get("map@100", ""),
                             val.get("modified_copy", {}).get("recall@10", "")])
    plot_curves(history, out / "curves.png")


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    steps = [r["step"] for r in history if "loss" in r]
    losses = np.asarray([r["loss"] for r in history if "loss" in r])
    if len(losses):
        window = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax1.plot(steps, losses, alpha=0.3, label="loss")
        ax1.plot(steps[window - 1:], smooth, label=f"loss (mean of {window})")
    ax1.set_xlabel("step"), ax1.set_title("training loss"), ax1.legend()
    vals = [r for r in history if "val" in r]
    for task in sorted({t for r in vals for t in r["val"] if t != "mean"}):
        ax2.plot([r["step"] for r in vals], [r["val"][task]["map@100"] for r in vals], marker="o", label=task)
    if vals:
        ax2.plot([r["step"] for r in vals], [r["val"]["mean"]["map@100"] for r in vals], "k--", label="mean")
        ax2.legend()
    ax2.set_xlabel("step"), ax2.set_title("validation mAP@100")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

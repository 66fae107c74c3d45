"""The training loop: MoCo v3 over pairs of views, validated by retrieval, checkpointed atomically.

``train`` resumes from ``OUT/last.pt`` when asked; the best checkpoint (``OUT/best.pt``, the embedder's format)
is chosen by validation mean mAP@100 with early stopping; metrics go to ``OUT/metrics.csv`` / ``.json`` and a
PNG plot of the curves.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from loguru import logger
from tqdm import tqdm

from logo_similarity.config import ImageSettings, ModelSettings, Settings, TrainSettings
from logo_similarity.embeddings.model import FeatureExtractor, build_pretrained_extractor, load_checkpoint
from logo_similarity.preprocessing.pipeline import Preprocessor, text_mask_descriptor
from logo_similarity.training.backbone import Encoder, OnnxStem, split_extractor
from logo_similarity.training.checkpoint import load_state, restore_rng, rng_states, save_extractor, save_state, trunk_hash
from logo_similarity.training.curves import write_metrics
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


def _initial_extractor(model: ModelSettings, image: ImageSettings, init: Path | None) -> FeatureExtractor:
    extractor = load_checkpoint(init) if init else build_pretrained_extractor(model, image)
    return extractor.train()


@dataclass
class _Inputs:
    """What a run trains on: the views (a precomputed bank through the frozen stem, or pairs rendered on the fly
    for the whole encoder), the batch plan, and the validation split."""

    train_set: Any
    plan: BatchPlan
    steps: int
    backbone: torch.nn.Module
    bank: Any = None
    loader: Any = None
    validation: Any = None


def _inputs(settings: Settings, ts: TrainSettings, data: Path, out: Path, extractor: FeatureExtractor,
            device: torch.device) -> _Inputs:
    preprocess = Preprocessor(extractor.spec, settings.text, settings.model.cache_dir)
    stem, tail = split_extractor(extractor, ts.frozen_stages, ts.bn_train)
    fast_stem = stem
    if ts.frozen_stages and device.type == "cpu":
        fast_stem = OnnxStem(stem, extractor.spec.input_size, out, settings.model.threads)
    train_set = load_train_set(data, ts.weak, ts.max_images, ts.seed)
    plan = BatchPlan(train_set, ts.batch_size, ts.seed, ts.weak_prob if ts.weak != "none" else 0.0)
    steps = max(1, round(ts.epochs * plan.steps_per_epoch)) if ts.epochs is not None else ts.steps
    if ts.views:
        if ts.views < 2:
            raise ValueError("views must be 0 (on the fly) or at least 2 (view 0 is the clean logo)")
        key = bank_key(train_set, extractor.spec.to_json(), ts.frozen_stages, ts.views, ts.seed)
        bank = build_view_bank(train_set, fast_stem, preprocess, settings.image, ts.views, ts.seed,
                               Path(ts.cache_dir) / f"views-{key}.npy")
        inputs = _Inputs(train_set, plan, steps, tail, bank=bank)
    else:
        inputs = _Inputs(train_set, plan, steps, Encoder(stem, tail),
                         loader=ImagePairs(train_set, preprocess, settings.image, ts.seed))
    if ts.val_bench and Path(ts.val_bench).is_dir():
        val_key = validation_key(Path(ts.val_bench), extractor.spec.to_json(), ts.frozen_stages,
                                 ts.val_queries_per_task, ts.seed)
        inputs.validation = load_validation_split(Path(ts.val_bench), preprocess, fast_stem, settings.image,
                                                  ts.val_queries_per_task, ts.seed,
                                                  cache=Path(ts.cache_dir) / f"val-{val_key}.npz")
    elif ts.val_bench:
        logger.warning("validation benchmark {} not found: no validation, the last step is kept", ts.val_bench)
    return inputs


class _Run:
    """The model, optimiser and loop state of one training run, with its checkpoints.

    ``state`` (step, best score and step, patience count, history) is everything the loop needs to go on
    exactly where it stopped: it is saved in ``last.pt`` with the model, optimiser, scaler and RNG states.
    """

    LAYOUT = torch.channels_last  # faster convolutions on CPU and with AMP on GPU

    def __init__(self, ts: TrainSettings, extractor: FeatureExtractor, inputs: _Inputs, data: Path, out: Path,
                 device: torch.device) -> None:
        self.ts, self.extractor, self.validation, self.out, self.device = ts, extractor, inputs.validation, out, device
        self.model = MoCoV3(inputs.backbone, extractor.trunk.num_features, ts.proj_hidden, ts.proj_dim,
                            ts.temperature, ts.queue_size, ts.seed).to(device)
        self.model = self.model.to(memory_format=self.LAYOUT)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=ts.lr, weight_decay=ts.weight_decay)
        self.dtype = autocast_dtype(ts.amp, device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        not_recipe = {"val_bench", "loader_workers", "cache_dir", "checkpoint_every"}  # where, not how
        self.recipe = {"method": "moco-v3", **ts.model_dump(exclude=not_recipe),
                       "input_size": extractor.spec.input_size, "data": str(data),
                       "train_images": len(inputs.train_set.records)}
        self.state: dict[str, Any] = {"step": 0, "best_score": None, "best_step": None, "best_metrics": None,
                                      "bad": 0, "history": []}

    def resume(self) -> None:
        saved = load_state(self.out / "last.pt")
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scaler.load_state_dict(saved["scaler"])
        restore_rng(saved["rng"])
        self.state = saved["loop"]
        logger.info("resumed at step {}", self.state["step"])

    def validate(self) -> dict[str, Any]:
        self.model.eval()
        metrics = self.validation.evaluate(lambda x: self.model.backbone(x.to(self.device)).float())
        self.model.train()
        return metrics

    def checkpoint(self) -> None:
        save_state(self.out / "last.pt", {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                                          "scaler": self.scaler.state_dict(), "rng": rng_states(),
                                          "loop": self.state, "recipe": self.recipe})

    def keep(self, metrics: dict[str, Any] | None) -> None:
        """Write ``best.pt``: the trunk as it is now, in the embedder's checkpoint format."""
        spec = replace(self.extractor.spec, recipe=json.dumps({**self.recipe, "step": self.state["step"]},
                                                              sort_keys=True))
        trained = FeatureExtractor(self.extractor.trunk, spec)
        trained.spec = replace(spec, weights=f"logo-sim-moco:{trunk_hash(trained)}")
        save_extractor(trained, self.out / "best.pt", self.recipe, metrics or {})

    def validate_start(self) -> None:
        """The pretrained starting point, validated and kept, so best.pt exists even if training never beats it."""
        base = self.validate()
        self.state["history"].append({"step": 0, "val": base})
        self.state["best_score"], self.state["best_step"], self.state["best_metrics"] = base["mean"]["map@100"], 0, base
        self.keep(base)
        logger.info("step 0 (pretrained): validation mean mAP@100 {:.4f}", base["mean"]["map@100"])

    def step(self, step: int, steps: int, x1: torch.Tensor, x2: torch.Tensor, groups: torch.Tensor) -> float:
        """One optimiser step on a batch of view pairs; returns the loss."""
        ts = self.ts
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(step, steps, ts.lr, ts.warmup_steps)
        ctx = torch.autocast(self.device.type, dtype=self.dtype) if self.dtype else contextlib.nullcontext()
        with ctx:
            loss = self.model(x1.to(self.device, memory_format=self.LAYOUT), x2.to(self.device, memory_format=self.LAYOUT),
                              groups, momentum_at(step, steps, ts.momentum))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.item()

    def judge(self, row: dict[str, Any], steps: int) -> bool:
        """Validate when due, keep a better model; True when patience has run out (early stop)."""
        step = row["step"]
        if self.validation is None or (step % self.ts.val_every != 0 and step != steps):
            return False
        metrics = self.validate()
        row["val"] = metrics
        score = metrics["mean"]["map@100"]
        logger.info("step {}: loss {:.4f}, validation mean mAP@100 {:.4f}", step, row["loss"], score)
        if self.state["best_score"] is None or score > self.state["best_score"]:
            self.state.update(best_score=score, best_step=step, best_metrics=metrics, bad=0)
            self.keep(metrics)
            return False
        self.state["bad"] += 1
        return self.state["bad"] >= self.ts.patience


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
    extractor = _initial_extractor(settings.model, settings.image, init)
    extractor.spec = replace(extractor.spec, text_mask=text_mask_descriptor(settings.text))
    inputs = _inputs(settings, ts, data, out, extractor, device)
    ts = ts.model_copy(update={"steps": inputs.steps})
    run = _Run(ts, extractor, inputs, data, out, device)
    if resume and (out / "last.pt").is_file():
        run.resume()
    state = run.state
    if inputs.validation is not None and state["step"] == 0 and not state["history"]:
        run.validate_start()
    run.model.train()
    start, seen, stopped = time.perf_counter(), 0, False
    bar = tqdm(range(state["step"], ts.steps), initial=state["step"], total=ts.steps, desc="train", mininterval=2)
    batches = iter(torch.utils.data.DataLoader(
        inputs.loader, batch_sampler=StepBatches(inputs.plan, state["step"], ts.steps), num_workers=ts.loader_workers,
        pin_memory=device.type == "cuda")) if inputs.loader is not None else None
    for step in bar:
        first, second = inputs.plan.images(step)
        x1, x2 = inputs.bank.pair(first, second, step, ts.seed) if inputs.bank is not None else next(batches)
        loss = run.step(step, ts.steps, x1, x2, torch.from_numpy(inputs.plan.groups[first]).to(device))
        seen += 2 * len(first)
        state["step"] = step + 1
        row = {"step": step + 1, "loss": loss, "lr": run.optimizer.param_groups[0]["lr"],
               "img_per_s": seen / (time.perf_counter() - start)}
        bar.set_postfix(loss=f"{loss:.3f}")
        stopped = run.judge(row, ts.steps)
        state["history"].append(row)
        if "val" in row:
            write_metrics(out, state["history"])
        over_time = (max_seconds is not None and time.perf_counter() - start > max_seconds) or step + 1 == until
        if (step + 1) % ts.checkpoint_every == 0 or stopped or over_time or step + 1 == ts.steps:
            run.checkpoint()
        if stopped:
            logger.info("early stop at step {}: no better validation in {} checks", step + 1, ts.patience)
            break
        if over_time:
            logger.info("time budget reached at step {}; resume with --resume", step + 1)
            break
    if inputs.validation is None and state["step"] == ts.steps:
        run.keep(None)
        state.update(best_step=state["step"])
    elapsed = time.perf_counter() - start
    write_metrics(out, state["history"])
    return TrainReport(out, state["step"], state["best_step"], state["best_score"], state["best_metrics"],
                       seen / elapsed if elapsed else 0.0, elapsed, stopped)

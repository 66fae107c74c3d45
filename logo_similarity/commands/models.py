"""Training commands (``logo-sim train-data``, ``logo-sim train``): like ``commands``, they return data and never print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from logo_similarity.commands.options import ConfigOpt, TextMaskOpt, command_settings


def train_data(
    out: Annotated[Path, typer.Option(help="folder for images/, metadata.jsonl and manifest.json")] = Path("data/train_icons"),
    icons: Annotated[Path, typer.Option(help="YAML list of pinned npm icon packages")] = Path("config/train_icons.yaml"),
    npm_prefix: Annotated[Path, typer.Option(help="where the npm packages are installed")] = Path("data/.npm"),
    bench: Annotated[Optional[Path], typer.Option(help="LogoBench folder: its near-copies are dropped")] = None,
    workers: Annotated[int, typer.Option(min=1, help="render processes")] = 2,
    config: ConfigOpt = None,
) -> dict[str, Any]:
    """Render the training logos from pinned npm icon sets (never the evaluation sets), with a manifest."""
    from logo_similarity.datasets.iconify import render_training_icons

    command_settings(config)
    return render_training_icons(icons, out, npm_prefix, bench, workers)


def train(
    data: Annotated[Path, typer.Argument(help="training logos: folder of images or L3D metadata")],
    out: Annotated[Path, typer.Option(help="run folder: last.pt, best.pt, metrics.csv/json, curves.png")] = Path("runs/train"),
    resume: Annotated[bool, typer.Option("--resume", help="continue from OUT/last.pt")] = False,
    init: Annotated[Optional[Path], typer.Option(help="start from this .pt checkpoint (default: ImageNet weights)")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="stop (with a checkpoint) after this long")] = None,
    stop_at: Annotated[Optional[int], typer.Option(min=1, help="stop (with a checkpoint) after this step")] = None,
    batch_size: Annotated[Optional[int], typer.Option(min=2)] = None,
    queue_size: Annotated[Optional[int], typer.Option(min=0, help="0 = in-batch negatives only")] = None,
    momentum: Annotated[Optional[float], typer.Option(help="base momentum of the key encoder")] = None,
    temperature: Annotated[Optional[float], typer.Option()] = None,
    lr: Annotated[Optional[float], typer.Option()] = None,
    weight_decay: Annotated[Optional[float], typer.Option()] = None,
    warmup_steps: Annotated[Optional[int], typer.Option(min=0)] = None,
    steps: Annotated[Optional[int], typer.Option(min=1)] = None,
    epochs: Annotated[Optional[float], typer.Option(help="instead of --steps: passes over the training set")] = None,
    frozen_stages: Annotated[Optional[int], typer.Option(min=0, max=6)] = None,
    views: Annotated[Optional[int], typer.Option(min=0, help="precomputed views per image; 0 = on the fly")] = None,
    max_images: Annotated[Optional[int], typer.Option(min=1)] = None,
    weak: Annotated[Optional[str], typer.Option(help="none | brand | vienna")] = None,
    weak_prob: Annotated[Optional[float], typer.Option()] = None,
    amp: Annotated[Optional[str], typer.Option(help="auto | bf16 | fp16 | off")] = None,
    image_size: Annotated[Optional[int], typer.Option(min=32, help="model input size")] = None,
    val_bench: Annotated[Optional[str], typer.Option(help="LogoBench-format validation split ('' = none)")] = None,
    val_every: Annotated[Optional[int], typer.Option(min=1)] = None,
    patience: Annotated[Optional[int], typer.Option(min=1)] = None,
    checkpoint_every: Annotated[Optional[int], typer.Option(min=1)] = None,
    seed: Annotated[Optional[int], typer.Option()] = None,
    text_mask: TextMaskOpt = None,
    config: ConfigOpt = None,
):
    """Fine-tune the embedder with MoCo v3; the best checkpoint by validation mAP@100 is OUT/best.pt."""
    from logo_similarity.training.trainer import train as run_training

    values = {"batch_size": batch_size, "queue_size": queue_size, "momentum": momentum, "temperature": temperature,
              "lr": lr, "weight_decay": weight_decay, "warmup_steps": warmup_steps, "steps": steps, "epochs": epochs,
              "frozen_stages": frozen_stages, "views": views, "max_images": max_images, "weak": weak,
              "weak_prob": weak_prob, "amp": amp, "val_every": val_every, "patience": patience,
              "checkpoint_every": checkpoint_every, "seed": seed}
    section = {k: v for k, v in values.items() if v is not None}
    if val_bench is not None:
        section["val_bench"] = val_bench or None
    model = {"input_size": image_size} if image_size else {}
    settings = command_settings(config, text_mask=text_mask, train=section, model=model)
    return run_training(settings, data, out, resume=resume, init=init,
                        max_seconds=max_minutes * 60 if max_minutes else None, until=stop_at)

"""A training run's metrics on disk: ``metrics.json`` (every logged step), ``metrics.csv`` and ``curves.png``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np


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

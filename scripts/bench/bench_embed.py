"""Embedding throughput: torch eager vs onnxruntime, same model, same batch of real logos.

    python -m scripts.bench.bench_embed --batch 32 --threads 2 --runs 7 --json runs/bench_embed.json

Prints images/s per backend (median over runs, after one warm-up) and their ratio. Images are the bundled
demo gallery, preprocessed once, so this measures the model alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from logo_similarity.config import load_settings
from logo_similarity.datasets import read_dataset
from logo_similarity.embeddings import OnnxEmbedder, TorchEmbedder
from logo_similarity.embeddings.loading import imagenet_onnx_path, load_embedder
from logo_similarity.embeddings.model import build_pretrained_extractor
from logo_similarity.preprocessing import load_image, to_model_input
from logo_similarity.utils.logging import configure_logging


def images_per_s(embedder, batch: np.ndarray, runs: int) -> list[float]:
    embedder.embed_batch(batch)  # warm-up: allocations, thread pools
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        embedder.embed_batch(batch)
        rates.append(len(batch) / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--gallery", type=Path, default=Path("data/demo/metadata.jsonl"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    configure_logging("WARNING")

    settings = load_settings(overrides={"model": {"threads": args.threads}})
    onnx = load_embedder("imagenet", settings)
    assert isinstance(onnx, OnnxEmbedder) and onnx.path == imagenet_onnx_path(settings.model, settings.image)
    eager = TorchEmbedder(build_pretrained_extractor(settings.model, settings.image), threads=args.threads)
    records = read_dataset(args.gallery)[: args.batch]
    batch = np.stack([to_model_input(load_image(r.path), onnx.spec) for r in records])

    result = {"batch": args.batch, "threads": args.threads, "runs": args.runs, "img_per_s": {}}
    for name, embedder in (("torch_eager", eager), ("onnxruntime", onnx)):
        rates = images_per_s(embedder, batch, args.runs)
        result["img_per_s"][name] = {"median": statistics.median(rates), "min": min(rates), "max": max(rates)}
    ratio = result["img_per_s"]["onnxruntime"]["median"] / result["img_per_s"]["torch_eager"]["median"]
    result["onnx_over_torch"] = ratio
    for name, row in result["img_per_s"].items():
        print(f"{name:12s} {row['median']:7.1f} img/s (median of {args.runs}; min {row['min']:.1f}, max {row['max']:.1f})")
    print(f"onnxruntime / torch eager = {ratio:.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Estimate the GPU memory of one MoCo v3 training step (no GPU needed; on a GPU it also measures the peak).

Activation memory is measured, not guessed: the bytes of every tensor autograd saves for the backward pass
of one step (both views through the base encoder, under bf16 autocast as on a GPU), at a small batch and
scaled linearly to --batch. Parameters, gradients, AdamW moments, the momentum encoder and the queue are
counted from their shapes. Usage: python -m scripts.bench.estimate_train_memory --batch 64 --size 224 --json OUT
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from logo_similarity.config import load_settings
from logo_similarity.embeddings.model import build_pretrained_extractor
from logo_similarity.training.backbone import Encoder, split_extractor
from logo_similarity.training.moco import MoCoV3


def saved_bytes(model: MoCoV3, batch: int, size: int, dtype: torch.dtype | None) -> int:
    total = 0

    def pack(t: torch.Tensor):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    x = torch.randn(batch, 3, size, size)
    ctx = torch.autocast("cpu", dtype=dtype) if dtype else torch.autocast("cpu", enabled=False)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), ctx:
        model(x, x.clone(), torch.arange(batch), 0.99)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--probe-batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--frozen-stages", type=int, default=0)
    parser.add_argument("--queue", type=int, default=65536)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = load_settings(overrides={"model": {"input_size": args.size}})
    extractor = build_pretrained_extractor(settings.model, settings.image).train()
    stem, tail = split_extractor(extractor, args.frozen_stages)
    model = MoCoV3(Encoder(stem, tail), extractor.trunk.num_features, queue_size=args.queue).train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    static = trainable * 4 * 4 + frozen * 4 + buffers  # fp32 weights + grads + 2 AdamW moments; frozen weights
    report = {"batch": args.batch, "size": args.size, "frozen_stages": args.frozen_stages, "queue": args.queue,
              "trainable_params": trainable, "frozen_params": frozen, "static_gb": static / 2**30}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", None)):
        probe = saved_bytes(model, args.probe_batch, args.size, dtype)
        activations = probe * args.batch / args.probe_batch
        # the backward pass holds roughly one more layer's activations and gradients at a time: +25 % margin
        report[f"activations_{name}_gb"] = activations / 2**30
        report[f"estimate_{name}_gb"] = (static + 1.25 * activations) / 2**30
    if torch.cuda.is_available():
        device = torch.device("cuda")
        model = model.to(device)
        torch.cuda.reset_peak_memory_stats()
        x = torch.randn(args.batch, 3, args.size, args.size, device=device)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(x, x.clone(), torch.arange(args.batch, device=device), 0.99)
        loss.backward()
        optimizer.step()
        report["measured_peak_gb"] = torch.cuda.max_memory_allocated() / 2**30
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

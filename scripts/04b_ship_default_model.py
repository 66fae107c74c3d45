"""Phase 4b: make a trained checkpoint the package's default embedder.

Exports it as one ONNX file (parity-checked) to logo_similarity/models/logo-lite0-moco.onnx and writes the
machine-readable half of its model card (logo-lite0-moco.json: sha256, spec, recipe, training data summary,
LogoBench metrics before/after). MODEL_CARD.md beside it is the human-readable card.

  python scripts/04b_ship_default_model.py --checkpoint runs/train/cpu/best.pt \
      --data data/train_icons --before runs/eval/imagenet.json --after runs/eval/moco.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

from logo_similarity.embeddings.model import load_checkpoint
from logo_similarity.embeddings.onnx_export import export_with_parity
from logo_similarity.embeddings.weights_file import PACKAGED_MODEL
from logo_similarity.utils.fs import atomic_write


def main() -> None:
    parser = argparse.ArgumentParser(description="ship a trained checkpoint as the default model")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="the training set folder (its manifest.json)")
    parser.add_argument("--before", type=Path, help="logo-sim eval --json of the ImageNet model")
    parser.add_argument("--after", type=Path, help="logo-sim eval --json of the trained model")
    parser.add_argument("--command", default="", help="the training command line, for the card")
    args = parser.parse_args()

    extractor = load_checkpoint(args.checkpoint)
    path = export_with_parity(extractor, PACKAGED_MODEL, single_file=True)
    manifest = json.loads((args.data / "manifest.json").read_text())
    card = {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
        "spec": extractor.spec.to_dict(),
        "recipe": json.loads(extractor.spec.recipe),
        "command": args.command,
        "training_data": {
            "images": manifest["images"], "near_copies_of_logobench_dropped": manifest["near_copies_dropped"],
            "per_set": dict(Counter(item["set"] for item in manifest["items"])),
            "packages": manifest["packages"],
            "manifest_sha256": hashlib.sha256((args.data / "manifest.json").read_bytes()).hexdigest(),
        },
        "logobench": {name: json.loads(p.read_text())["tasks"] for name, p in (("before", args.before), ("after", args.after)) if p},
    }
    atomic_write(PACKAGED_MODEL.with_suffix(".json"), json.dumps(card, indent=1).encode())
    print(json.dumps({k: card[k] for k in ("file", "sha256", "bytes")}))


if __name__ == "__main__":
    main()

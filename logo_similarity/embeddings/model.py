"""The feature extractor: a timm EfficientNet trunk, global pooling, L2 normalisation."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from logo_similarity.config import ImageSettings, ModelSettings
from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.embeddings.weights import PretrainedWeightsError, load_imagenet_weights
from logo_similarity.utils.torchvision_compat import ensure_torchvision_importable


class GeM(nn.Module):
    """Generalised-mean pooling (Radenović et al., 2018): p=1 is average pooling, p→∞ max pooling."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.register_buffer("p", torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


class FeatureExtractor(nn.Module):
    """Image batch (N, 3, H, W), normalised per ``spec`` -> L2-normalised embeddings (N, dim)."""

    def __init__(self, trunk: nn.Module, spec: ModelSpec) -> None:
        super().__init__()
        self.trunk = trunk
        self.spec = spec
        self.pool = GeM(spec.gem_p) if spec.pooling == "gem" else nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.trunk.forward_features(x)
        pooled = self.pool(features).flatten(1)
        return F.normalize(pooled, dim=1)


def create_trunk(arch: str) -> nn.Module:
    ensure_torchvision_importable()
    import timm

    return timm.create_model(arch, pretrained=False)


def build_pretrained_extractor(model: ModelSettings, image: ImageSettings) -> FeatureExtractor:
    """The ImageNet EfficientNet-Lite0 extractor, weights loaded strictly from the installed package."""
    if model.arch != "tf_efficientnet_lite0":
        raise PretrainedWeightsError(
            f"no packaged ImageNet weights for arch {model.arch!r}; only tf_efficientnet_lite0 ships them. "
            "Pass a trained checkpoint with --model instead."
        )
    trunk = create_trunk(model.arch)
    weights = load_imagenet_weights(trunk)
    trunk.reset_classifier(0)
    spec = ModelSpec.from_settings(model, image, weights=weights, dim=trunk.num_features)
    return FeatureExtractor(trunk, spec).eval()


def save_checkpoint(extractor: FeatureExtractor, path: Path) -> None:
    """Checkpoint = trunk weights + spec, so a later load rebuilds exactly this extractor."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"spec": extractor.spec.to_dict(), "trunk": extractor.trunk.state_dict()}, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> FeatureExtractor:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or "spec" not in payload or "trunk" not in payload:
        raise PretrainedWeightsError(f"{path} is not a logo-similarity checkpoint (needs 'spec' and 'trunk')")
    spec = ModelSpec.from_dict(payload["spec"])
    trunk = create_trunk(spec.arch)
    trunk.reset_classifier(0)
    try:
        trunk.load_state_dict(payload["trunk"], strict=True)
    except RuntimeError as exc:
        raise PretrainedWeightsError(f"checkpoint {path} does not fit {spec.arch}: {exc}") from exc
    return FeatureExtractor(trunk, spec).eval()

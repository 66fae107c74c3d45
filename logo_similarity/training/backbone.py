"""The trained backbone: the embedder's own timm EfficientNet trunk and GeM pooling, split at a stage.

Stages below ``frozen_stages`` (and the stem) are frozen. Their output depends only on the view, so the CPU
recipe computes it once per precomputed view (``stem``) and trains ``tail`` + pooling on those features; the
GPU recipe runs the whole ``Encoder`` on images. Either way the trained trunk is the embedder's trunk:
``FeatureExtractor(trunk, spec)`` after training is exactly what indexing and querying run.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from logo_similarity.embeddings.model import FeatureExtractor, GeM
from logo_similarity.runtime import onnx_session

STAGES = 7  # tf_efficientnet_lite0 has 7 block stages


def check_frozen(trunk: nn.Module, frozen_stages: int) -> None:
    if not 0 <= frozen_stages <= len(trunk.blocks) - 1:
        raise ValueError(f"frozen_stages must be in 0..{len(trunk.blocks) - 1}, got {frozen_stages}")


def run_stem(trunk: nn.Module, frozen_stages: int, x: torch.Tensor) -> torch.Tensor:
    """conv_stem + bn1 + the first ``frozen_stages`` block stages: the graph Stem runs and OnnxStem exports."""
    x = trunk.bn1(trunk.conv_stem(x))
    for stage in trunk.blocks[:frozen_stages]:
        x = stage(x)
    return x


class Stem(nn.Module):
    """conv_stem + bn1 + the first ``frozen_stages`` block stages (no gradients, BN in eval mode)."""

    def __init__(self, trunk: nn.Module, frozen_stages: int) -> None:
        super().__init__()
        check_frozen(trunk, frozen_stages)
        self.trunk = [trunk]  # a list: the trunk's weights belong to the Tail/extractor, not to this module
        self.frozen_stages = frozen_stages
        if frozen_stages:
            for module in (trunk.conv_stem, trunk.bn1, *trunk.blocks[:frozen_stages]):
                module.requires_grad_(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trunk = self.trunk[0]
        if self.frozen_stages == 0:
            return x
        # only the frozen modules go to eval mode: switching the whole trunk back to train() afterwards would
        # also put the tail's BatchNorms in training mode, which Tail keeps in eval unless bn_train
        for module in (trunk.conv_stem, trunk.bn1, *trunk.blocks[: self.frozen_stages]):
            module.eval()
        return run_stem(trunk, self.frozen_stages, x)


class Tail(nn.Module):
    """The trainable rest of the trunk plus pooling: stem features -> pooled features (unnormalised)."""

    def __init__(self, trunk: nn.Module, frozen_stages: int, gem_p: float, pooling: str = "gem",
                 bn_train: bool = False) -> None:
        super().__init__()
        check_frozen(trunk, frozen_stages)
        self.trunk = trunk
        self.frozen_stages = frozen_stages
        self.pool = GeM(gem_p) if pooling == "gem" else nn.AdaptiveAvgPool2d(1)
        self.bn_train = bn_train

    def train(self, mode: bool = True) -> Tail:
        super().train(mode)
        if not self.bn_train:  # pretrained BN statistics stay fixed: small batches would only add noise
            for module in self.trunk.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trunk = self.trunk
        if self.frozen_stages == 0:
            x = trunk.bn1(trunk.conv_stem(x))
        for stage in trunk.blocks[self.frozen_stages:]:
            x = stage(x)
        x = trunk.bn2(trunk.conv_head(x))
        return self.pool(x).flatten(1)


class Encoder(nn.Module):
    """Images -> pooled features through the frozen stem and the trainable tail (the on-the-fly path)."""

    def __init__(self, stem: Stem, tail: Tail) -> None:
        super().__init__()
        self.stem_fn = [stem]
        self.tail = tail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.stem_fn[0](x))


def split_extractor(extractor: FeatureExtractor, frozen_stages: int, bn_train: bool = False) -> tuple[Stem, Tail]:
    spec = extractor.spec
    return (Stem(extractor.trunk, frozen_stages),
            Tail(extractor.trunk, frozen_stages, spec.gem_p, spec.pooling, bn_train))


class _StemGraph(nn.Module):
    def __init__(self, stem: Stem) -> None:
        super().__init__()
        self.trunk, self.frozen_stages = stem.trunk[0], stem.frozen_stages

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_stem(self.trunk, self.frozen_stages, x)


class OnnxStem:
    """The frozen stem on onnxruntime: about twice torch's CPU speed for precomputing views (same weights;
    the first batch is checked against torch)."""

    def __init__(self, stem: Stem, input_size: int, folder: Path, threads: int = 2) -> None:
        self.stem, self.checked = stem, False
        path = Path(folder) / "stem.onnx"
        path.parent.mkdir(parents=True, exist_ok=True)
        graph = _StemGraph(stem).eval()
        torch.onnx.export(graph, (torch.zeros(2, 3, input_size, input_size),), str(path), input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch"}}, dynamo=False, opset_version=17)
        self.session = onnx_session(path, threads, cpu_only=True)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.from_numpy(self.session.run(None, {"x": x.numpy()})[0])
        if not self.checked:
            ref = self.stem(x[:2])
            if not torch.allclose(out[:2], ref, atol=1e-3, rtol=1e-3):
                raise RuntimeError(f"ONNX stem differs from torch by {float((out[:2] - ref).abs().max())}")
            self.checked = True
        return out

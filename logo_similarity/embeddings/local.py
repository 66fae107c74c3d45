"""Local (patch) features for spatial re-ranking: a stage of the embedding network itself, PCA-reduced.

One forward pass gives both outputs: the exported ONNX graph is given a second output, the feature map of the
last residual block at ``stride`` (for EfficientNet-Lite0 at 224 px and stride 16: 112 channels on a 14x14
grid). Each grid cell becomes a ``dim``-dimensional unit vector after a PCA fitted on rendered logos (no
collection data, so the projection of a model is the same for every index and query), plus the share of ink
in the cell, so background cells can be left out of matching.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from logo_similarity.embeddings.errors import EmbedderError

LOCAL_OUTPUT = "local_features"
# Cells of 16 px at 224 px input: fine enough to tell shapes apart, 196 cells x 32 dims x fp16 = 12.5 KB per item.
LOCAL_STRIDE = 16


class LocalFeaturesUnavailable(EmbedderError):
    """This embedder cannot produce local features (not an ONNX EfficientNet-like graph)."""


def expose_feature_map(model, stride: int, input_size: int):
    """The ONNX model with the output of its last residual ``Add`` at ``stride`` as a second graph output.

    Found by structure (shape inference), not by tensor name: names change between exports.
    """
    import onnx
    from onnx import shape_inference

    side = input_size // stride
    inferred = shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in inferred.graph.value_info
    }
    chosen = None
    for node in model.graph.node:
        shape = shapes.get(node.output[0])
        if node.op_type == "Add" and shape and len(shape) == 4 and shape[2] == side and shape[3] == side:
            chosen = (node.output[0], shape[1])
    if chosen is None:
        raise LocalFeaturesUnavailable(f"no residual block output at stride {stride} ({side}x{side}) in the model")
    name, channels = chosen
    identity = onnx.helper.make_node("Identity", [name], [LOCAL_OUTPUT], name="local_features_identity")
    model.graph.node.append(identity)
    model.graph.output.append(
        onnx.helper.make_tensor_value_info(LOCAL_OUTPUT, onnx.TensorProto.FLOAT, ["batch", channels, side, side])
    )
    return model


def ink_grid(batch: np.ndarray, side: int, threshold: float = 0.1) -> np.ndarray:
    """Share of ink per grid cell, (N, side*side) in [0, 1], from model inputs.

    Per image, darkness is measured from its lightest value (the background after padding) over its contrast,
    floored so that a blank image has no ink rather than amplified noise.
    """
    gray = batch.mean(axis=1)
    n, h, w = gray.shape
    hi = gray.reshape(n, -1).max(axis=1)[:, None, None]
    lo = gray.reshape(n, -1).min(axis=1)[:, None, None]
    darkness = (hi - gray) / np.maximum(hi - lo, 0.25)
    cells = (darkness > threshold).reshape(n, side, h // side, side, w // side).mean(axis=(2, 4))
    return cells.reshape(n, side * side).astype(np.float32)


@dataclass(frozen=True)
class LocalProjection:
    """Centred PCA of feature-map cells to ``dim`` components; output rows have unit length."""

    mean: np.ndarray  # (channels,)
    components: np.ndarray  # (dim, channels)
    stride: int

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    def __call__(self, maps: np.ndarray) -> np.ndarray:
        """(N, C, g, g) feature maps -> (N, g*g, dim) float32 unit vectors."""
        n, c, h, w = maps.shape
        cells = np.ascontiguousarray(maps.transpose(0, 2, 3, 1)).reshape(n, h * w, c)
        y = (cells - self.mean) @ self.components.T
        return (y / np.maximum(np.linalg.norm(y, axis=2, keepdims=True), 1e-6)).astype(np.float32)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()[:16]

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, mean=self.mean.astype(np.float32), components=self.components.astype(np.float32),
                 stride=np.int64(self.stride))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LocalProjection:
        with np.load(io.BytesIO(data)) as f:
            return cls(f["mean"], f["components"], int(f["stride"]))

    def save(self, path: Path) -> None:
        from logo_similarity.utils.fs import atomic_write

        atomic_write(Path(path), self.to_bytes())

    @classmethod
    def load(cls, path: Path) -> LocalProjection:
        return cls.from_bytes(Path(path).read_bytes())


def fit_local_projection(maps: np.ndarray, ink: np.ndarray, dim: int, stride: int) -> LocalProjection:
    """PCA over the inked cells of (N, C, g, g) maps (background cells would dominate the variance)."""
    n, c, h, w = maps.shape
    cells = maps.transpose(0, 2, 3, 1).reshape(n * h * w, c).astype(np.float64)
    keep = ink.reshape(-1) > 0.05
    cells = cells[keep] if keep.sum() > dim else cells
    mean = cells.mean(axis=0)
    cov = np.cov(cells - mean, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][:dim]
    components = vectors[:, order].T
    components *= np.where(components[np.arange(len(order)), np.abs(components).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]
    return LocalProjection(mean.astype(np.float32), components.astype(np.float32), stride)


def local_projection_for(embedder, dim: int, cache_dir: str | Path, samples: int = 400) -> LocalProjection:
    """The model's cell projection: fitted once on ``samples`` rendered logos (deterministic), then cached.

    Rendered logos, not the collection, so every index built with a model shares one projection and the
    embedding cache's local features stay valid across rebuilds.
    """
    from loguru import logger

    from logo_similarity.synthetic import random_text_logo

    if not getattr(embedder, "has_local", False):
        raise LocalFeaturesUnavailable(
            "local features need an ONNX EfficientNet-style model (set rerank.local_features: false to build without)"
        )
    path = Path(cache_dir).expanduser() / "local" / f"{embedder.spec.fingerprint()}-s{LOCAL_STRIDE}-d{dim}.npz"
    if path.is_file():
        return LocalProjection.load(path)
    batch = np.stack([embedder.preprocess(random_text_logo(seed)[0]).array for seed in range(samples)])
    maps = np.concatenate([embedder.embed_local(batch[i : i + 50])[1] for i in range(0, samples, 50)])
    projection = fit_local_projection(maps, ink_grid(batch, maps.shape[-1]), dim, LOCAL_STRIDE)
    path.parent.mkdir(parents=True, exist_ok=True)
    projection.save(path)
    logger.info("fitted the local-feature projection ({} -> {} dims) on {} rendered logos: {}",
                maps.shape[1], dim, samples, path)
    return projection

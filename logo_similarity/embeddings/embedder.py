"""Embedders turn preprocessed image batches into L2-normalised vectors.

Three kinds share one interface: ``OnnxEmbedder`` (default inference path), ``TorchEmbedder`` (eager,
for training and parity checks) and ``ThumbnailEmbedder`` (a 16x16 grayscale baseline to measure against).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PIL import Image

from logo_similarity.embeddings.local import LOCAL_OUTPUT, LOCAL_STRIDE, LocalFeaturesUnavailable
from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.runtime import onnx_session

if TYPE_CHECKING:
    from logo_similarity.preprocessing.pipeline import Preprocessor


class Embedder(Protocol):
    spec: ModelSpec
    preprocess: "Preprocessor"  # set by load_embedder: masking + normalisation for this spec

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, S, S) float32 model input -> (N, dim) float32, rows of unit length."""


def embed_images(embedder: Embedder, images: Iterable[Image.Image], batch_size: int = 32) -> np.ndarray:
    """Preprocess and embed images in batches; returns (N, dim) float32."""
    out: list[np.ndarray] = []
    for chunk in _batched(images, batch_size):
        out.append(embedder.embed_batch(np.stack([embedder.preprocess(img).array for img in chunk])))
    if not out:
        return np.zeros((0, embedder.spec.dim), dtype=np.float32)
    return np.concatenate(out)


def _batched(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _plain(spec: ModelSpec):
    from logo_similarity.preprocessing.pipeline import plain_preprocessor

    return plain_preprocessor(spec)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxEmbedder:
    def __init__(self, path: Path, threads: int = 2) -> None:
        from logo_similarity.embeddings.spec import SPEC_METADATA_KEY

        self.path = Path(path)
        self.session = onnx_session(self._graph(), threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        if SPEC_METADATA_KEY not in meta:
            raise ValueError(f"{path} has no logo-similarity spec in its metadata; export it with `logo-sim export`")
        self.spec = ModelSpec.from_dict(json.loads(meta[SPEC_METADATA_KEY]))
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.has_local = LOCAL_OUTPUT in {o.name for o in self.session.get_outputs()}
        self.preprocess = _plain(self.spec)

    def _graph(self) -> bytes | str:
        """The model, with its stride-16 feature map exposed as a second output when the graph has one."""
        import onnx

        from logo_similarity.embeddings.local import expose_feature_map
        from logo_similarity.embeddings.spec import SPEC_METADATA_KEY

        model = onnx.load(str(self.path))
        meta = {p.key: p.value for p in model.metadata_props}
        size = json.loads(meta.get(SPEC_METADATA_KEY, "{}")).get("input_size")
        try:
            return expose_feature_map(model, LOCAL_STRIDE, size).SerializeToString() if size else str(self.path)
        except LocalFeaturesUnavailable:
            return str(self.path)

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        (out,) = self.session.run([self.output_name], {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})
        return out.astype(np.float32, copy=False)

    def embed_local(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings and feature maps (N, C, g, g) of one batch, from one forward pass."""
        if not self.has_local:
            raise LocalFeaturesUnavailable(f"{self.path.name} has no feature map at stride {LOCAL_STRIDE}")
        out, maps = self.session.run(
            [self.output_name, LOCAL_OUTPUT], {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)}
        )
        return out.astype(np.float32, copy=False), maps


class TorchEmbedder:
    def __init__(self, extractor, threads: int = 2) -> None:
        import torch

        torch.set_num_threads(threads)
        self.extractor = extractor.eval()
        self.spec = extractor.spec
        self.preprocess = _plain(self.spec)

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.extractor(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))).numpy()


class ThumbnailEmbedder:
    """Baseline: the logo shrunk to 16x16 grayscale, mean-centred, L2-normalised (256 dims)."""

    def __init__(self, side: int = 16, background: tuple[int, int, int] = (255, 255, 255)) -> None:
        self.spec = ModelSpec(
            arch=f"thumbnail{side}",
            weights="none",
            input_size=side,
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
            pooling="none",
            gem_p=0.0,
            dim=side * side,
            background=background,
        )
        self.preprocess = _plain(self.spec)

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        gray = batch.mean(axis=1).reshape(len(batch), -1)
        return l2_normalize(gray - gray.mean(axis=1, keepdims=True))

"""Embedding stage. ``load_embedder`` is the one door: default model, an ONNX file, a checkpoint, a baseline."""

from logo_similarity.embeddings.embedder import (
    Embedder,
    OnnxEmbedder,
    ThumbnailEmbedder,
    TorchEmbedder,
    embed_images,
)
from logo_similarity.embeddings.loading import imagenet_onnx_path, load_embedder
from logo_similarity.embeddings.spec import ModelSpec

__all__ = [
    "Embedder",
    "ModelSpec",
    "OnnxEmbedder",
    "ThumbnailEmbedder",
    "TorchEmbedder",
    "imagenet_onnx_path",
    "embed_images",
    "load_embedder",
]

"""Resolve ``--model`` into an embedder.

``None``        the package default: EfficientNet-Lite0 fine-tuned for logos (MoCo v3), shipped as ONNX in
                ``logo_similarity/models/`` with its model card.
``imagenet``    ImageNet EfficientNet-Lite0 (the previous default), exported once to ONNX in the cache
                (``settings.model.backend == "torch"`` runs it eagerly instead).
``thumbnail``   the 16x16 grayscale baseline.
``*.onnx``      an exported model; its spec is read from the file.
``*.pt/.pth``   a logo-similarity checkpoint (spec + trunk weights), run eagerly or exported per backend (the
                export is cached in ``model.cache_dir`` by checkpoint content).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from loguru import logger

from logo_similarity.config import ImageSettings, ModelSettings, Settings
from logo_similarity.embeddings.embedder import Embedder, OnnxEmbedder, ThumbnailEmbedder, TorchEmbedder
from logo_similarity.embeddings.spec import ModelSpec
from logo_similarity.utils.fs import file_sha256

# torch is imported only when a model is exported or run eagerly (embeddings.model / .weights), so the CLI
# and ONNX inference start without it.


class ModelNotFoundError(FileNotFoundError):
    pass


def imagenet_onnx_path(m: ModelSettings, image: ImageSettings) -> Path:
    """Cache location of the ImageNet model's ONNX file, keyed by the settings that change its output."""
    from logo_similarity.embeddings.weights_file import weights_path

    key = "|".join(
        map(str, (m.arch, m.input_size, m.mean, m.std, m.pooling, m.gem_p, m.color_mode, image.background, weights_path()))
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(m.cache_dir).expanduser() / "models" / f"{m.arch}-{m.pooling}-{digest}" / "model.onnx"


def checkpoint_onnx_path(checkpoint: Path, model: ModelSettings) -> Path:
    """Where a checkpoint's ONNX export is cached: keyed by the checkpoint's content, so a retrained file gets a
    fresh export and nothing next to the user's checkpoint is ever written or deleted."""
    name = f"checkpoint-{checkpoint.stem}-{file_sha256(checkpoint)[:16]}"
    return Path(model.cache_dir).expanduser() / "models" / name / "model.onnx"


def _onnx_for(extractor_factory, path: Path) -> Path:
    if not path.exists():
        from logo_similarity.embeddings.onnx_export import export_onnx

        logger.info("exporting model to ONNX once: {}", path)
        export_onnx(extractor_factory(), path)
    return path


def load_embedder(model: str | Path | None, settings: Settings) -> Embedder:
    """The embedder for ``model`` with its preprocessing (text masking per ``settings.text``) attached."""
    from dataclasses import replace

    from logo_similarity.preprocessing.pipeline import Preprocessor, text_mask_descriptor

    embedder = _load_network(model, settings.model, settings.image)
    embedder.spec = replace(embedder.spec, text_mask=text_mask_descriptor(settings.text))
    embedder.preprocess = Preprocessor(embedder.spec, settings.text, settings.model.cache_dir)
    return embedder


def embedder_for_spec(model: str | Path | None, spec: ModelSpec, settings: Settings) -> Embedder:
    """The embedder that queries an index built with ``spec``: its preprocessing, and without ``model``, its model.

    Settings that change the embedding (input size, pooling, colour mode, background, text masking) are taken
    from the index's spec, so a query is prepared exactly as the indexed images were.
    """
    from logo_similarity.preprocessing.pipeline import text_settings_from_descriptor

    if model is None and spec.arch == ThumbnailEmbedder().spec.arch:
        model = "thumbnail"
    elif str(model) == "imagenet" and spec.arch == settings.model.arch:
        model_settings = settings.model.model_copy(
            update={
                "input_size": spec.input_size,
                "mean": spec.mean,
                "std": spec.std,
                "pooling": spec.pooling,
                "gem_p": spec.gem_p or settings.model.gem_p,
                "color_mode": spec.color_mode,
            }
        )
        image_settings = settings.image.model_copy(update={"background": spec.background})
        settings = settings.model_copy(update={"model": model_settings, "image": image_settings})
    text = text_settings_from_descriptor(spec.text_mask, settings.text)
    return load_embedder(model, settings.model_copy(update={"text": text}))


def _load_network(model: str | Path | None, m: ModelSettings, image: ImageSettings) -> Embedder:
    threads = m.threads
    if model is None or str(model) == "default":
        from logo_similarity.embeddings.weights_file import packaged_model_path

        return OnnxEmbedder(packaged_model_path(), threads)
    if str(model) == "imagenet":
        def factory():  # torch is imported only when the model must be built (export, or the torch backend)
            from logo_similarity.embeddings.model import build_pretrained_extractor

            return build_pretrained_extractor(m, image)

        if m.backend == "torch":
            return TorchEmbedder(factory(), threads)
        return OnnxEmbedder(_onnx_for(factory, imagenet_onnx_path(m, image)), threads)
    if str(model) == "thumbnail":
        return ThumbnailEmbedder(background=tuple(image.background))
    path = Path(model)
    if not path.exists():
        raise ModelNotFoundError(f"model file not found: {path}")
    if path.suffix == ".onnx":
        return OnnxEmbedder(path, threads)
    if path.suffix in (".pt", ".pth"):
        from logo_similarity.embeddings.model import load_checkpoint

        extractor = load_checkpoint(path)
        if m.backend == "torch":
            return TorchEmbedder(extractor, threads)
        return OnnxEmbedder(_onnx_for(lambda: extractor, checkpoint_onnx_path(path, m)), threads)
    raise ModelNotFoundError(
        f"unknown model kind {path.suffix!r}: give an .onnx file, a .pt checkpoint, 'imagenet' or 'thumbnail'"
    )

"""Export a FeatureExtractor to ONNX (dynamic batch). The spec travels inside the file's metadata."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np
import onnx
import torch
from loguru import logger

from logo_similarity.embeddings.model import FeatureExtractor
from logo_similarity.embeddings.spec import SPEC_METADATA_KEY
from logo_similarity.runtime import onnx_session

INPUT_NAME = "images"
OUTPUT_NAME = "embeddings"


def export_onnx(extractor: FeatureExtractor, path: Path, opset: int = 18, single_file: bool = False) -> Path:
    """Write ``path`` (and its external-weights file beside it, unless ``single_file``).

    The pair switches atomically: the weights get a name of their own (``<name>.<token>.data``, referenced from
    inside the .onnx file) and are moved in first; the .onnx file then replaces any previous one in a single
    rename. A reader therefore loads the old pair or the new one, never a new graph with missing or old
    weights; a crash before the rename leaves the old model as it was. Weights files of earlier exports of
    this path (named by this function) are removed afterwards.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = extractor.spec.input_size
    example = torch.zeros(2, 3, size, size)
    data_name = f"{path.name}.{uuid.uuid4().hex[:12]}.data"
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmp:
        staged = Path(tmp) / path.name
        batch = torch.export.Dim("batch", min=1, max=4096)
        program = torch.onnx.export(
            extractor.eval(),
            (example,),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
        program.optimize()
        model = program.model_proto
        entry = model.metadata_props.add()
        entry.key, entry.value = SPEC_METADATA_KEY, extractor.spec.to_json()
        onnx.save_model(
            model,
            str(staged),
            save_as_external_data=not single_file,
            all_tensors_to_one_file=True,
            location=data_name,
            size_threshold=1024,
        )
        if (Path(tmp) / data_name).exists():
            os.replace(Path(tmp) / data_name, path.parent / data_name)
        os.replace(staged, path)  # the switch: from here on readers get the new pair
    for old in path.parent.glob(f"{path.name}.*.data"):
        if old.name != data_name:
            old.unlink(missing_ok=True)
    logger.info("exported ONNX model to {}", path)
    return path


def convert_fp16(src: Path, dst: Path) -> Path:
    """An FP16 copy of an exported model for GPU serving (inputs and outputs stay float32)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(src))  # external data is read from beside ``src``
    half = convert_float_to_float16(model, keep_io_types=True)
    with tempfile.TemporaryDirectory(dir=Path(dst).parent, prefix=".export-") as tmp:
        staged = Path(tmp) / Path(dst).name
        onnx.save_model(half, str(staged))
        shutil.move(str(staged), dst)
    logger.info("wrote FP16 model {}", dst)
    return Path(dst)


def parity(extractor: FeatureExtractor, onnx_path: Path, batch: torch.Tensor) -> float:
    """Lowest cosine between the torch extractor's and the ONNX file's embeddings of ``batch``."""
    with torch.inference_mode():
        ref = extractor.eval()(batch).numpy()
    session = onnx_session(onnx_path, cpu_only=True)
    out = session.run(None, {session.get_inputs()[0].name: batch.numpy()})[0].astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return float((out * ref).sum(axis=1).min())


class ParityError(RuntimeError):
    """An exported model does not reproduce the torch model's embeddings."""


def parity_batch(extractor: FeatureExtractor, n: int = 8) -> torch.Tensor:
    """Rendered logos (shapes and words), prepared with the extractor's own preprocessing."""
    from logo_similarity.synthetic import random_text_logo
    from logo_similarity.preprocessing.normalize import to_model_input

    arrays = [to_model_input(random_text_logo(seed)[0], extractor.spec) for seed in range(n)]
    return torch.from_numpy(np.stack(arrays))


def export_with_parity(extractor: FeatureExtractor, out: Path, fp16: bool = False, single_file: bool = False,
                       min_cosine: float = 0.9999, min_cosine_fp16: float = 0.995) -> Path:
    """Export, then check the ONNX embeddings against torch on rendered logos (and the FP16 copy if asked)."""
    path = export_onnx(extractor, out, single_file=single_file)
    batch = parity_batch(extractor)
    cosine = parity(extractor, path, batch)
    logger.info("ONNX parity with torch: lowest cosine {:.6f}", cosine)
    if cosine < min_cosine:
        raise ParityError(f"{path}: lowest cosine to torch {cosine:.6f} < {min_cosine}")
    if fp16:
        half = convert_fp16(path, path.with_name(path.stem + ".fp16.onnx"))
        cosine16 = parity(extractor, half, batch)
        logger.info("FP16 parity with torch: lowest cosine {:.6f}", cosine16)
        if cosine16 < min_cosine_fp16:
            raise ParityError(f"{half}: lowest cosine to torch {cosine16:.6f} < {min_cosine_fp16}")
    return path

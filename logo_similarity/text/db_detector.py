"""PP-OCRv4's mobile text detector (Differentiable Binarization) on onnxruntime: a second text detector beside CRAFT.

About 2.5x cheaper than CRAFT at logo resolution on 2 cores (one query's OCR is most of its cost). The network
is PaddleOCR's ``ch_PP-OCRv4_det`` as the PyPI package ``rapidocr-onnxruntime`` ships it in its wheel (read from
the installed package; nothing is downloaded; only the ONNX file is used, not the package's code). Its map of
text probability becomes boxes by DB's post-processing, written here: threshold, dilate, contours, mean
probability inside each minimum-area rectangle, the rectangle grown by ``area * unclip_ratio / perimeter`` on
every side (what PaddleOCR's polygon offset gives for a rectangle). Boxes come out as CRAFT's do: axis-aligned
boxes for lines within a few degrees of horizontal, quadrilaterals for the others.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from logo_similarity.config import TextSettings
from logo_similarity.runtime import onnx_session
from logo_similarity.text.errors import OcrModelError
from logo_similarity.text.ocr_result import OcrResult

PACKAGE = "rapidocr_onnxruntime"
MODEL_FILE = "models/ch_PP-OCRv4_det_infer.onnx"
INSTALL_HINT = "pip install --no-deps rapidocr-onnxruntime==1.4.4 (./run.sh setup does it)"
# A line more tilted than this is kept as a quadrilateral (the recogniser straightens it) instead of its box.
MAX_AXIS_ANGLE = 5.0


def ppocr_det_model() -> Path:
    """The detector's ONNX file inside the installed ``rapidocr-onnxruntime`` package (found without importing
    the package, whose own imports want the GUI build of OpenCV)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise OcrModelError(f"the PP-OCR text detector's weights are not installed: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    if not path.is_file():
        raise OcrModelError(f"{PACKAGE} is installed but {MODEL_FILE} is missing from it: {INSTALL_HINT}")
    return path


def db_input(rgb: np.ndarray, long_side: int) -> tuple[np.ndarray, float, float]:
    """The network's input (1, 3, H, W), BGR scaled to [-1, 1], the long side ``long_side``, both sides multiples
    of 32; with the x and y factors from input to image coordinates."""
    height, width = rgb.shape[:2]
    scale = long_side / max(height, width)
    h32 = max(32, int(round(height * scale / 32)) * 32)
    w32 = max(32, int(round(width * scale / 32)) * 32)
    resized = cv2.resize(rgb[:, :, ::-1], (w32, h32), interpolation=cv2.INTER_LINEAR)
    x = (resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(x), width / w32, height / h32


def db_boxes(prob: np.ndarray, thresh: float, box_thresh: float, unclip_ratio: float,
             max_candidates: int = 1000) -> list[tuple[tuple[float, float], tuple[float, float], float]]:
    """DB post-processing over one probability map (H, W): rotated rectangles ((cx, cy), (w, h), angle) in map
    pixels, each grown by its unclip distance, those whose mean probability is under ``box_thresh`` dropped."""
    bitmap = cv2.dilate((prob > thresh).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    height, width = prob.shape
    rects = []
    for contour in contours[:max_candidates]:
        rect = cv2.minAreaRect(contour)
        (cx, cy), (rw, rh), angle = rect
        if min(rw, rh) < 3:
            continue
        corners = cv2.boxPoints(rect)
        x0, y0 = np.clip(np.floor(corners.min(0)).astype(int), 0, [width - 1, height - 1])
        x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int), 0, [width - 1, height - 1])
        mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
        cv2.fillPoly(mask, [np.round(corners - [x0, y0]).astype(np.int32)], 1)
        if cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask)[0] < box_thresh:
            continue
        grow = (rw * rh) * unclip_ratio / (2 * (rw + rh))
        if min(rw, rh) + 2 * grow < 5:
            continue
        rects.append(((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle))
    return rects


def _tilt(rect_size: tuple[float, float], angle: float) -> float:
    """Degrees between a rotated rectangle's long side and the horizontal."""
    w, h = rect_size
    along = angle if w >= h else angle + 90.0
    return abs((along + 90.0) % 180.0 - 90.0)


class DbDetector:
    """Text boxes of a logo from PP-OCRv4's detector, as ``OcrResult`` boxes and polygons in image pixels."""

    def __init__(self, settings: TextSettings) -> None:
        self.settings = settings
        self.session = onnx_session(ppocr_det_model(), settings.ocr_threads)
        self.input_name = self.session.get_inputs()[0].name

    def detect(self, rgb: np.ndarray) -> OcrResult:
        s = self.settings
        x, fx, fy = db_input(rgb, s.detector_size)
        (prob,) = self.session.run(None, {self.input_name: x})
        height, width = rgb.shape[:2]
        result = OcrResult()
        rects = db_boxes(prob[0, 0], s.db_thresh, s.db_box_thresh, s.db_unclip_ratio)
        # Top to bottom, then left to right, as the recogniser's reading order expects.
        for (cx, cy), size, angle in sorted(rects, key=lambda r: (round(r[0][1] * fy / 10), r[0][0])):
            corners = cv2.boxPoints(((cx * fx, cy * fy), (size[0] * fx, size[1] * fy), angle))
            xs = np.clip(corners[:, 0], 0, width)
            ys = np.clip(corners[:, 1], 0, height)
            if max(xs.max() - xs.min(), ys.max() - ys.min()) <= s.min_size:
                continue
            if _tilt(size, angle) <= MAX_AXIS_ANGLE:
                result.boxes.append((int(xs.min()), int(ys.min()), int(np.ceil(xs.max())), int(np.ceil(ys.max()))))
            else:
                result.polygons.append([(int(px), int(py)) for px, py in zip(xs, ys)])
        return result

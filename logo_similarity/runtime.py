"""onnxruntime sessions: the one place that creates them, for the embedder, the OCR detector and exports' checks.

The GPU providers are chosen automatically when present (TensorRT, then CUDA), the CPU always last; threads are
set per session, because the server runs several sessions side by side (searches, OCR), and their idle
threads do not spin: onnxruntime's threads busy-wait after each run by default, which on two cores takes the CPU
from the session that runs next (the OCR after the embedder, a concurrent search), so sessions sleep instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def select_providers(available: list[str]) -> list[str]:
    """onnxruntime providers in order of preference, limited to those present (CPU always last)."""
    return [p for p in PREFERRED_PROVIDERS if p in available] or ["CPUExecutionProvider"]


def onnx_session(model: str | Path | bytes, threads: int = 2, cpu_only: bool = False) -> Any:
    """An ``onnxruntime.InferenceSession`` over a model file (or its bytes) with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"] if cpu_only else select_providers(ort.get_available_providers())
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), sess_options=options,
                                providers=providers)

"""The shim runs in fresh interpreters: whether torchvision imports depends on process-wide state."""

import subprocess
import sys
import textwrap

import torch

from logo_similarity.utils.torchvision_compat import nms_reference


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_timm_and_torchvision_import_after_the_shim():
    result = run_python(
        """
        from logo_similarity.utils.torchvision_compat import ensure_torchvision_importable
        ensure_torchvision_importable()
        import torchvision, timm
        import torch
        boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
        print(torch.ops.torchvision.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist())
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[0, 2]"


def test_does_nothing_when_the_extension_loads():
    result = run_python(
        """
        import logo_similarity.utils.torchvision_compat as compat
        compat._extension_loads = lambda path: True   # as on a machine where torchvision's C ops load
        assert compat.ensure_torchvision_importable() is False
        assert compat._fallback_library is None
        import torch
        print(bool(torch._C._jit_get_schemas_for_operator("torchvision::nms")))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_is_idempotent():
    result = run_python(
        """
        from logo_similarity.utils.torchvision_compat import ensure_torchvision_importable as ensure
        first = ensure(); second = ensure()
        import torchvision
        third = ensure()
        print(first == second == third)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_nms_reference_cases():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 9], [5, 5, 15, 15], [100, 100, 110, 110]])
    scores = torch.tensor([0.5, 0.9, 0.8, 0.1])
    assert nms_reference(boxes, scores, 0.5).tolist() == [1, 2, 3]
    assert nms_reference(boxes, scores, 0.95).tolist() == [1, 2, 0, 3]
    assert nms_reference(torch.zeros((0, 4)), torch.zeros(0), 0.5).tolist() == []


def test_the_cli_api_and_query_path_import_without_torch():
    # torch (and torchvision through easyocr) is loaded where OCR or training first needs it: `logo-sim --help`,
    # a script's --help and the server's imports do not pay its seconds
    result = run_python(
        """
        import sys
        import logo_similarity.cli, logo_similarity.api, logo_similarity.search.query, logo_similarity.watch.run
        import logo_similarity.text.ocr, logo_similarity.text.recognizer
        print(sorted(m for m in ("torch", "torchvision", "easyocr", "timm") if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"

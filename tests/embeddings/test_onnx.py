import os

import numpy as np
import pytest

from logo_similarity.embeddings import OnnxEmbedder, TorchEmbedder, embed_images, load_embedder
from logo_similarity.runtime import select_providers
from logo_similarity.embeddings.loading import ModelNotFoundError
from logo_similarity.preprocessing import load_image
from tests.conftest import DEMO


def real_logos(n=16):
    return [load_image(p) for p in sorted((DEMO / "images").glob("*.png"))[:n]]


def test_onnx_matches_torch_on_real_logos(onnx_embedder, torch_extractor):
    images = real_logos()
    ours = embed_images(onnx_embedder, images, batch_size=5)  # odd batch: dynamic batch axis
    ref = embed_images(TorchEmbedder(torch_extractor), images, batch_size=16)
    cosine = (ours * ref).sum(axis=1)
    assert cosine.min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_onnx_file_carries_its_spec(onnx_embedder, torch_extractor):
    assert isinstance(onnx_embedder, OnnxEmbedder)
    assert onnx_embedder.spec == torch_extractor.spec
    assert len(list(onnx_embedder.path.parent.glob(onnx_embedder.path.name + ".*.data"))) == 1
    again = OnnxEmbedder(onnx_embedder.path)
    assert again.spec == onnx_embedder.spec


def test_embeddings_discriminate_logos(onnx_embedder):
    vectors = embed_images(onnx_embedder, real_logos(12))
    sims = vectors @ vectors.T
    assert np.allclose(np.diag(sims), 1.0, atol=1e-5)
    assert (sims[~np.eye(12, dtype=bool)] < 0.995).all()


@pytest.mark.parametrize(
    "available, expected",
    [
        (["CPUExecutionProvider"], ["CPUExecutionProvider"]),
        (["CUDAExecutionProvider", "CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]),
        (
            ["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider", "AzureExecutionProvider"],
            ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
        ),
        ([], ["CPUExecutionProvider"]),
    ],
)
def test_provider_selection(available, expected):
    assert select_providers(available) == expected


def test_unknown_model_path_is_a_clear_error(settings, tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found"):
        load_embedder(tmp_path / "missing.onnx", settings)
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="unknown model kind"):
        load_embedder(tmp_path / "model.bin", settings)


def test_checkpoint_round_trip(torch_extractor, settings, tmp_path):
    from logo_similarity.embeddings.model import load_checkpoint, save_checkpoint

    path = tmp_path / "ckpt.pt"
    save_checkpoint(torch_extractor, path)
    restored = load_checkpoint(path)
    assert restored.spec == torch_extractor.spec
    images = real_logos(4)
    a = embed_images(TorchEmbedder(restored), images)
    b = embed_images(TorchEmbedder(torch_extractor), images)
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.gpu
def test_cuda_provider_used_when_present(onnx_embedder):
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("no CUDA execution provider on this machine")
    assert onnx_embedder.session.get_providers()[0] in ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def test_an_export_switches_the_model_and_its_weights_together(torch_extractor, tmp_path, monkeypatch):
    from logo_similarity.embeddings import onnx_export

    path = tmp_path / "model.onnx"
    onnx_export.export_onnx(torch_extractor, path)
    images = real_logos(3)
    before = embed_images(OnnxEmbedder(path), images)

    real_replace = os.replace

    def crash_at_the_switch(src, dst):  # the process dies after the weights moved in, before the .onnx rename
        if str(dst) == str(path):
            raise OSError("simulated crash")
        real_replace(src, dst)

    monkeypatch.setattr(onnx_export.os, "replace", crash_at_the_switch)
    with pytest.raises(OSError, match="simulated"):
        onnx_export.export_onnx(torch_extractor, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(embed_images(OnnxEmbedder(path), images), before)  # the old pair still loads

    onnx_export.export_onnx(torch_extractor, path)
    weights = list(tmp_path.glob("model.onnx.*.data"))
    assert len(weights) == 1  # the earlier exports' weights are gone, the live one stays
    np.testing.assert_allclose(embed_images(OnnxEmbedder(path), images), before, atol=1e-6)


def test_loading_a_checkpoint_never_writes_or_deletes_beside_it(torch_extractor, settings, tmp_path):
    from logo_similarity.embeddings.model import save_checkpoint

    ckpt = tmp_path / "run" / "best.pt"
    ckpt.parent.mkdir()
    save_checkpoint(torch_extractor, ckpt)
    mine = ckpt.with_suffix(".onnx")
    mine.write_bytes(b"the user's own file")
    os.utime(mine, (1, 1))  # older than the checkpoint: the old loader deleted it as a stale export
    embedder = load_embedder(ckpt, settings)
    assert isinstance(embedder, OnnxEmbedder) and embedder.spec.fingerprint() == torch_extractor.spec.fingerprint()
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["best.onnx", "best.pt"]
    assert mine.read_bytes() == b"the user's own file"
    assert load_embedder(ckpt, settings).path == embedder.path  # cached by content: exported once

"""Decoding in worker processes gives exactly what decoding in the main process gives."""

import shutil

import numpy as np

from logo_similarity.config import ImageSettings, IndexSettings
from logo_similarity.datasets import read_dataset
from logo_similarity.indexing import BuildRequest, build_index
from logo_similarity.indexing.embedding import decode_pool


def test_process_pool_build_equals_in_process_build(tiny_gallery, onnx_embedder, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(tiny_gallery / "images", images)
    (images / "zz-bad.png").write_bytes(b"nope")
    records = read_dataset(images)
    with decode_pool(onnx_embedder, 2, processes=True) as pool:
        assert type(pool).__name__ == "ProcessPoolExecutor"
    with decode_pool(onnx_embedder, 2) as pool:
        assert type(pool).__name__ == "ThreadPoolExecutor"
    processes = IndexSettings(workers=2, decode_processes=True)
    procs, report_p = build_index(BuildRequest(records, processes, ImageSettings(), batch_size=5), onnx_embedder)
    inproc, report_t = build_index(BuildRequest(records, IndexSettings(workers=1), batch_size=5), onnx_embedder)
    ids = np.array(sorted(inproc.metadata))
    assert sorted(procs.metadata) == ids.tolist() and len(ids) == 12
    np.testing.assert_array_equal(procs.vectors(ids), inproc.vectors(ids))
    assert [r["reason"] for r in report_p.rejects] == [r["reason"] for r in report_t.rejects] == ["unsupported_format"]

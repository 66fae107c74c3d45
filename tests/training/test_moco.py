import math

import pytest
import torch
from torch import nn

from logo_similarity.training.moco import KeyQueue, MoCoV3, momentum_at


def test_queue_wraps_around_and_remembers_groups():
    queue = KeyQueue(5, 3)
    assert len(queue.negatives()[0]) == 0  # the random initial keys are never negatives
    first = torch.eye(3)
    queue.enqueue(first, torch.tensor([0, 1, 2]))
    keys, groups = queue.negatives()
    assert torch.equal(keys, first) and groups.tolist() == [0, 1, 2] and int(queue.ptr) == 3
    second = -torch.eye(3)
    queue.enqueue(second, torch.tensor([3, 4, 5]))  # 2 fit at the end, 1 wraps to the front
    keys, groups = queue.negatives()
    assert int(queue.ptr) == 1 and len(keys) == 5
    assert groups.tolist() == [5, 1, 2, 3, 4]
    assert torch.equal(keys[0], second[2]) and torch.equal(keys[3], second[0])


def test_queue_keeps_only_the_newest_keys_of_an_oversized_batch():
    queue = KeyQueue(2, 1)
    queue.enqueue(torch.arange(5, dtype=torch.float32)[:, None], torch.arange(5))
    keys, groups = queue.negatives()
    assert sorted(groups.tolist()) == [3, 4]


def test_momentum_update_is_an_exponential_moving_average():
    backbone = nn.Linear(4, 6)
    model = MoCoV3(backbone, 6, proj_hidden=8, dim=4, queue_size=0)
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    online = [p.clone() for p in model.backbone.parameters()]
    target = [p.clone() for p in model.momentum_backbone.parameters()]
    model.momentum_update(0.9)
    for q, k_old, k_new in zip(online, target, model.momentum_backbone.parameters()):
        assert torch.allclose(k_new, 0.9 * k_old + 0.1 * q)
    assert not any(p.requires_grad for p in model.momentum_backbone.parameters())


def test_momentum_schedule_goes_from_base_to_one():
    assert momentum_at(0, 100, 0.99) == pytest.approx(0.99)
    assert momentum_at(50, 100, 0.99) == pytest.approx(0.995)
    assert momentum_at(100, 100, 0.99) == pytest.approx(1.0)


def test_contrastive_ignores_keys_of_the_same_group():
    model = MoCoV3(nn.Identity(), 2, proj_hidden=4, dim=2, temperature=1.0, queue_size=0)
    q = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    apart = model.contrastive(q, k, torch.tensor([0, 1]))
    together = model.contrastive(q, k, torch.tensor([0, 0]))
    assert float(apart) == pytest.approx(2 * math.log(2))  # the other image is an equally close negative
    assert float(together) == pytest.approx(0.0, abs=1e-6)  # same group: not a negative


def test_loss_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 16))
    model = MoCoV3(backbone, 16, proj_hidden=32, dim=8, temperature=0.2, queue_size=0)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x = torch.randn(16, 3, 4, 4)
    noise = torch.Generator().manual_seed(1)
    groups = torch.arange(16)
    losses = []
    for _ in range(30):
        x1 = x + 0.1 * torch.randn(x.shape, generator=noise)
        x2 = x + 0.1 * torch.randn(x.shape, generator=noise)
        loss = model(x1, x2, groups, 0.9)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5

"""MoCo v3 (Chen, Xie & He, 2021) with a queue of momentum keys as extra negatives.

base encoder f_q = backbone + projector, then a predictor; momentum encoder f_k = EMA copy of backbone + projector.
Loss: symmetrised InfoNCE, ctr(q1, k2) + ctr(q2, k1), each scaled by 2*tau as in the paper. Keys of the
current batch are the in-batch negatives; with ``queue_size > 0`` the last ``queue_size`` momentum keys are
negatives too (the seed's design: large-batch negatives for a batch of 64 on a 12 GB GPU).

The backbone is passed in: any module mapping a batch to pooled features (``feature_dim``).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn


def mlp(in_dim: int, hidden: int, out_dim: int, last_bn: bool = True) -> nn.Sequential:
    """MoCo v3's 2-layer MLP: Linear-BN-ReLU-Linear(-BN without affine)."""
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                               nn.Linear(hidden, out_dim, bias=False)]
    if last_bn:
        layers.append(nn.BatchNorm1d(out_dim, affine=False))
    return nn.Sequential(*layers)


def momentum_at(step: int, total: int, base: float) -> float:
    """Cosine schedule from ``base`` to 1 over training (MoCo v3 / BYOL)."""
    if total <= 0:
        return base
    return 1.0 - (1.0 - base) * (math.cos(math.pi * min(step, total) / total) + 1.0) / 2.0


class KeyQueue(nn.Module):
    """A ring buffer of L2-normalised keys and their group ids; ``ptr`` is where the next batch is written.

    A key's group is its image (or, with weak supervision, its brand): a query never takes a key of its own
    group as a negative. That matters on small training sets, where a queue holds several keys of each image.
    """

    def __init__(self, size: int, dim: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        keys = F.normalize(torch.randn(size, dim, generator=generator), dim=1) if size else torch.zeros(0, dim)
        self.register_buffer("keys", keys)
        self.register_buffer("groups", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return self.keys.shape[0]

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, groups: torch.Tensor) -> None:
        size = len(self)
        if size == 0:
            return
        keys, groups = keys.detach().to(self.keys.dtype)[-size:], groups[-size:]
        idx = (int(self.ptr) + torch.arange(len(keys), device=keys.device)) % size
        self.keys[idx] = keys
        self.groups[idx] = groups.to(self.groups.device)
        self.ptr.fill_((int(self.ptr) + len(keys)) % size)
        self.filled.fill_(min(size, int(self.filled) + len(keys)))

    def negatives(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys written so far and their groups (the random initial entries are never used as negatives)."""
        n = int(self.filled)
        return self.keys[:n].clone(), self.groups[:n].clone()  # enqueue writes in place after the forward


class MoCoV3(nn.Module):
    def __init__(self, backbone: nn.Module, feature_dim: int, proj_hidden: int = 2048, dim: int = 256,
                 temperature: float = 0.2, queue_size: int = 65536, seed: int = 0) -> None:
        super().__init__()
        self.temperature = temperature
        self.backbone = backbone
        self.projector = mlp(feature_dim, proj_hidden, dim)
        self.predictor = mlp(dim, proj_hidden, dim, last_bn=False)
        self.momentum_backbone = copy.deepcopy(backbone)
        self.momentum_projector = copy.deepcopy(self.projector)
        for module in (self.momentum_backbone, self.momentum_projector):
            for p in module.parameters():
                p.requires_grad_(False)
        self.queue = KeyQueue(queue_size, dim, torch.Generator().manual_seed(seed))

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        """theta_k <- m * theta_k + (1 - m) * theta_q for backbone and projector (buffers copied)."""
        for online, target in ((self.backbone, self.momentum_backbone), (self.projector, self.momentum_projector)):
            for p_q, p_k in zip(online.parameters(), target.parameters()):
                p_k.mul_(m).add_(p_q.detach(), alpha=1.0 - m)
            for b_q, b_k in zip(online.buffers(), target.buffers()):
                b_k.copy_(b_q)

    def contrastive(self, q: torch.Tensor, k: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        """InfoNCE of q against its own key; other keys of the same group are left out, not pushed away."""
        q, k = F.normalize(q.float(), dim=1), F.normalize(k.float(), dim=1)
        labels = torch.arange(len(q), device=q.device)
        same = groups[:, None] == groups[None, :]
        logits = (q @ k.t()).masked_fill(same & (labels[:, None] != labels[None, :]), float("-inf"))
        keys, key_groups = self.queue.negatives()
        if len(keys):
            queued = (q @ keys.t().to(q.dtype)).masked_fill(groups[:, None] == key_groups[None, :], float("-inf"))
            logits = torch.cat([logits, queued], dim=1)
        return F.cross_entropy(logits / self.temperature, labels) * (2 * self.temperature)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, groups: torch.Tensor, m: float) -> torch.Tensor:
        """Loss for two views of the same images (or group members); ``groups`` (N,) long: an image's group.

        Updates the momentum encoder first, as MoCo v3 does, and enqueues this batch's keys afterwards.
        """
        q1 = self.predictor(self.projector(self.backbone(x1)))
        q2 = self.predictor(self.projector(self.backbone(x2)))
        with torch.no_grad():
            self.momentum_update(m)
            k1 = self.momentum_projector(self.momentum_backbone(x1))
            k2 = self.momentum_projector(self.momentum_backbone(x2))
        loss = self.contrastive(q1, k2, groups) + self.contrastive(q2, k1, groups)
        self.queue.enqueue(F.normalize(k1.float(), dim=1), groups)
        return loss

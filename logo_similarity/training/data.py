"""Training pairs: two views of one logo (or, with weak supervision, of two logos of one group).

Every view goes through ``augment`` and then the embedder's own ``Preprocessor`` (text masking when the spec
says so, pad to square, gray, resize, mean/std): the function indexing and querying call. Which images and
views make up the batch of step ``s`` is a pure function of (seed, s), so a resumed run sees the same batches.

Two sources: ``ImagePairs`` renders views on the fly (the GPU recipe), ``ViewBank`` holds the frozen stem's
features of ``views`` precomputed views per image (the CPU recipe: view 0 is the clean logo).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from loguru import logger
from PIL import Image
from tqdm import tqdm

from logo_similarity.config import ImageSettings
from logo_similarity.datasets import DatasetError, LogoRecord, read_dataset
from logo_similarity.preprocessing import load_image
from logo_similarity.training.augment import augment


@dataclass
class TrainSet:
    records: list[LogoRecord]
    groups: np.ndarray  # (N,) int64: an image's group; its own index unless weak supervision joins it to others

    def partners(self) -> list[np.ndarray]:
        """Per image, the other members of its group (empty for a singleton)."""
        members: dict[int, list[int]] = {}
        for i, g in enumerate(self.groups.tolist()):
            members.setdefault(g, []).append(i)
        return [np.asarray([j for j in members[g] if j != i], dtype=np.int64) for i, g in enumerate(self.groups.tolist())]


def load_train_set(source: Path, weak: str = "none", max_images: int | None = None, seed: int = 0) -> TrainSet:
    """Records of a folder or L3D dataset; ``weak``: ``brand`` joins images of one brand across icon sets
    (only brands not in the validation benchmark, flag ``brand_in_bench``), ``vienna`` joins equal code sets."""
    records = read_dataset(source)
    if max_images is not None and len(records) > max_images:
        records = sorted(random.Random(seed).sample(records, max_images), key=lambda r: r.key)
    keys: list[str | None] = [None] * len(records)
    if weak == "brand":
        sets: dict[str, set[str]] = {}
        for r in records:
            if r.extra.get("brand") and not r.extra.get("brand_in_bench"):
                sets.setdefault(r.extra["brand"], set()).add(r.extra.get("set", ""))
        keys = [r.extra.get("brand") if len(sets.get(r.extra.get("brand"), ())) > 1 else None for r in records]
    elif weak == "vienna":
        keys = [",".join(sorted(r.vienna_codes)) or None for r in records]
    elif weak != "none":
        raise DatasetError(f"unknown weak supervision {weak!r}: none, brand or vienna")
    ids: dict[str, int] = {}
    groups = np.arange(len(records), dtype=np.int64)
    for i, key in enumerate(keys):
        if key is not None:
            groups[i] = ids.setdefault(key, i)
    joined = int((np.bincount(groups, minlength=len(records)) > 1).sum())
    logger.info("training set: {} images, {} groups with several members (weak={})", len(records), joined, weak)
    return TrainSet(records, groups)


def view_rng(seed: int, *parts: int) -> random.Random:
    return random.Random("|".join(map(str, (seed, *parts))))


def make_view(image: Image.Image, rng: random.Random, clean: bool = False) -> Image.Image:
    return image if clean else augment(image, rng)[0]


class BatchPlan:
    """Image indices and view choices of every step: a pure function of (seed, step)."""

    def __init__(self, train: TrainSet, batch_size: int, seed: int, weak_prob: float = 0.0) -> None:
        if len(train.records) < batch_size:
            raise DatasetError(f"training set has {len(train.records)} images, fewer than the batch size {batch_size}")
        self.n, self.batch_size, self.seed, self.weak_prob = len(train.records), batch_size, seed, weak_prob
        self.steps_per_epoch = self.n // batch_size
        self.partners = train.partners()
        self.groups = train.groups

    def images(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(first images, second images) of ``step``: the same image twice, or a group partner."""
        epoch, offset = divmod(step, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        first = order[offset * self.batch_size:(offset + 1) * self.batch_size]
        second = first.copy()
        if self.weak_prob > 0:
            rng = np.random.default_rng([self.seed, step, 1])
            for j, i in enumerate(first):
                if len(self.partners[i]) and rng.random() < self.weak_prob:
                    second[j] = rng.choice(self.partners[i])
        return first, second


class ImagePairs(torch.utils.data.Dataset):
    """Item (step, position, image_a, image_b) -> two augmented, preprocessed views (on the fly)."""

    def __init__(self, train: TrainSet, preprocess, image_settings: ImageSettings, seed: int) -> None:
        self.records, self.preprocess, self.image_settings, self.seed = train.records, preprocess, image_settings, seed

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, item: tuple[int, int, int, int]):
        step, pos, a, b = item
        views = []
        for which, index in ((0, a), (1, b)):
            image = load_image(self.records[index].path, self.image_settings)
            views.append(self.preprocess(make_view(image, view_rng(self.seed, step, pos, which))).array)
        return torch.from_numpy(views[0]), torch.from_numpy(views[1])


class StepBatches(torch.utils.data.Sampler):
    """The items of steps ``start..end-1`` for ``ImagePairs``: loader workers render them in parallel, and
    since a step's batch depends on (seed, step) alone, a resumed run gets the same batches."""

    def __init__(self, plan: BatchPlan, start: int, end: int) -> None:
        self.plan, self.start, self.end = plan, start, end

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def __iter__(self):
        for step in range(self.start, self.end):
            first, second = self.plan.images(step)
            yield [(step, pos, int(a), int(b)) for pos, (a, b) in enumerate(zip(first, second))]


class ViewBank:
    """Frozen-stem features of ``views`` views per image, float16, memory-mapped: (N, V, C, H, W)."""

    def __init__(self, features: np.ndarray) -> None:
        self.features = features

    @property
    def views(self) -> int:
        return self.features.shape[1]

    def pair(self, first: np.ndarray, second: np.ndarray, step: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """View 0 (clean) or an augmented view of ``first``, and another view of ``second``."""
        rng = np.random.default_rng([seed, step, 2])
        va = np.where(rng.random(len(first)) < 0.5, 0, rng.integers(1, self.views, len(first)))
        vb = rng.integers(1, self.views, len(first))
        same = (first == second) & (vb == va)
        vb[same] = (vb[same] % (self.views - 1)) + 1 if self.views > 2 else vb[same]
        x1 = torch.from_numpy(np.stack([self.features[i, v] for i, v in zip(first, va)]).astype(np.float32))
        x2 = torch.from_numpy(np.stack([self.features[i, v] for i, v in zip(second, vb)]).astype(np.float32))
        return x1, x2


def bank_key(train: TrainSet, spec_json: str, frozen_stages: int, views: int, seed: int) -> str:
    payload = json.dumps([[str(r.path) for r in train.records], spec_json, frozen_stages, views, seed])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def build_view_bank(train: TrainSet, stem, preprocess, image_settings: ImageSettings, views: int, seed: int,
                    path: Path, batch_size: int = 64) -> ViewBank:
    """Compute (or reopen) the bank at ``path``; written under a temporary name, renamed when complete."""
    if path.is_file():
        logger.info("reusing view bank {}", path)
        return ViewBank(np.load(path, mmap_mode="r"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial.npy")
    items = [(i, v) for i in range(len(train.records)) for v in range(views)]
    out = None
    for start in tqdm(range(0, len(items), batch_size), desc="view bank", mininterval=5):
        chunk = items[start:start + batch_size]
        arrays = []
        for i, v in chunk:
            image = load_image(train.records[i].path, image_settings)
            arrays.append(preprocess(make_view(image, view_rng(seed, -1, i, v), clean=v == 0)).array)
        feats = stem(torch.from_numpy(np.stack(arrays))).numpy().astype(np.float16)
        if out is None:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16,
                                            shape=(len(train.records), views, *feats.shape[1:]))
        for (i, v), f in zip(chunk, feats):
            out[i, v] = f
    out.flush()
    del out
    tmp.replace(path)
    return ViewBank(np.load(path, mmap_mode="r"))

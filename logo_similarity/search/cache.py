"""What a query image brings (its vector, local features, figure, elements, the name read from it), kept by the
image's content: the page runs the same upload again with other filters, another k or a crop of it, and a
batch or a watch list repeats images. Bounded LRU, one per index version (a new version starts empty).

The key is the SHA-256 of the decoded pixels (mode, size and bytes: the same picture in PNG and in lossless WebP
is one entry), with what changes the features: whether re-ranking is on, and whether a name was given (then
the words are not read). The name given and the Vienna codes are the query's own, set on every hit.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import replace

from PIL import Image

from logo_similarity.reranking.rerank import QueryFeatures


def image_digest(image: Image.Image) -> str:
    """SHA-256 of the decoded pixels, their mode and size."""
    digest = hashlib.sha256(f"{image.mode}:{image.width}x{image.height}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class QueryCache:
    """``get(key)`` / ``put(key, features)``; thread-safe; ``size`` 0 keeps nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple, QueryFeatures] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(image: Image.Image, rerank: bool, name_given: bool, digest: str | None = None) -> tuple:
        """``digest``: the image's ``image_digest`` when the caller has it already."""
        return digest or image_digest(image), rerank, name_given

    def get(self, key: tuple) -> QueryFeatures | None:
        with self._lock:
            features = self._entries.get(key)
            if features is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return replace(features)  # the caller sets its own name and codes on its copy

    def count_hit(self) -> None:
        """A hit served outside ``get`` (a batch computing an image it repeats once)."""
        with self._lock:
            self.hits += 1

    def put(self, key: tuple, features: QueryFeatures) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = replace(features)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

"""Sound-alike name search over many marks without scoring every name with ALINE in Python.

Pre-selection in two passes, then exact re-scoring:
1. cheap recall: the query's sound-skeleton bucket (letters mapped to sound classes, k/c/q/g/x -> K, d/t -> T,
   m/n -> N, ..., vowels and h/w/y dropped, repeats collapsed: "kodak", "codac" and "kodack" share KTK), plus
   the top ``rescore`` names by n-gram overlap through an inverted index: Dice over letter bigrams (spelling
   variants) plus Dice over trigrams of a coarse phone-class string that keeps vowels as one class
   (structure: "kodak" ~ "godag");
2. those candidates scored with ALINE by the compiled kernel (text/aline_jit.py, ~0.2 us a name), keeping
   the best ``budget``.
The survivors are re-scored with ``text_similarity`` (ALINE + edit distance) and the best k returned. Pass 1
alone recalled 0.80 of brute-force ALINE's top 10 at 1M names (budget 4,000); ALINE over the n-gram top
200,000 recalls what n-grams rank there (bench: scripts/bench/bench_scale.py).

The index is stored with each index version (``save`` / ``load``, flat arrays: CSR postings), so a server
loads a million names in about a second instead of rebuilding them.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from logo_similarity.text.aline import PAD, encode, self_scores, similarity_from_codes
from logo_similarity.text.normalize import phonetic_letters
from logo_similarity.text.similarity import MAX_LETTERS, encode_names, score_encoded

FORMAT = 1

_SOUND_CLASS = str.maketrans(
    "abcdefghijklmnopqrstuvwxyz", "_PKTEPKHEJKLNNOPKRSTUPWKYS"
)  # vowels (a e i o u) and h w y are dropped after mapping
_DROPPED = set("AEIOUHWY_")


def sound_key(name: str) -> str:
    letters = phonetic_letters(name)[:MAX_LETTERS]
    out: list[str] = []
    for ch in letters.translate(_SOUND_CLASS).upper():
        if ch in _DROPPED:
            continue
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


# Coarse phone classes close to ALINE's place/manner features: vowels (and y, w) V; bilabials b p m B;
# labiodentals F; alveolar stops t d n T; affricates c j C; sibilants s z S; velars/glottals k g q x K.
_PHONE_CLASS = str.maketrans("abcdefghijklmnopqrstuvwxyz", "VBCTVFKHVCKLBTVBKRSTVFVKVS")


def _letter_bigrams(letters: str) -> set[str]:
    padded = f"^{letters}$"
    return {"l" + padded[i : i + 2] for i in range(len(padded) - 1)}


def _class_trigrams(letters: str) -> set[str]:
    padded = "^" + letters.translate(_PHONE_CLASS) + "$"
    return {"c" + padded[i : i + 3] for i in range(len(padded) - 2)}


_FEATURES = (_letter_bigrams, _class_trigrams)


class _Csr:
    """Rows per key (gram or sound key) as one sorted key list, offsets and concatenated rows."""

    def __init__(self, keys: list[str], offsets: np.ndarray, rows: np.ndarray) -> None:
        self.keys = keys
        self.slot = {k: i for i, k in enumerate(keys)}
        self.offsets = offsets
        self.rows = rows

    @classmethod
    def build(cls, key_ids: dict[str, int], pair_keys: array, pair_rows: array) -> _Csr:
        keys = sorted(key_ids)
        rank = np.empty(len(keys), np.int64)
        rank[[key_ids[k] for k in keys]] = np.arange(len(keys))
        slots = rank[np.frombuffer(pair_keys, np.int32)] if len(pair_keys) else np.zeros(0, np.int64)
        rows = np.frombuffer(pair_rows, np.int32) if len(pair_rows) else np.zeros(0, np.int32)
        order = np.argsort(slots, kind="stable")  # rows stay ascending within a key
        offsets = np.zeros(len(keys) + 1, np.int64)
        np.cumsum(np.bincount(slots, minlength=len(keys)), out=offsets[1:])
        return cls(keys, offsets, np.ascontiguousarray(rows[order]))

    def get(self, key: str) -> np.ndarray | None:
        i = self.slot.get(key)
        return None if i is None else self.rows[self.offsets[i] : self.offsets[i + 1]]


@dataclass(frozen=True)
class NameHit:
    row: int
    id: int
    name: str
    score: float
    phonetic: float
    orthographic: float


class NameIndex:
    """Names with their ids; built once (self-scores, buckets, postings), queried many times, stored with a version."""

    def __init__(self, ids: list[int] | np.ndarray, names: list[str], phonetic_weight: float) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self._by_id = np.argsort(self.ids, kind="stable")  # rows in id order: ``rows_of``
        self.names = list(names)
        self.phonetic_weight = phonetic_weight
        self.codes, self.lengths = encode_names(self.names)
        self.self_scores = self_scores(self.codes, self.lengths)
        gram_ids: dict[str, int] = {}
        bucket_ids: dict[str, int] = {}
        grams, gram_rows, buckets, bucket_rows = array("i"), array("i"), array("i"), array("i")
        self.n_grams = np.zeros((len(_FEATURES), len(self.names)), dtype=np.int32)
        for row, name in enumerate(self.names):
            letters = phonetic_letters(name)[:MAX_LETTERS]
            if not letters:
                continue
            buckets.append(bucket_ids.setdefault(sound_key(name), len(bucket_ids)))
            bucket_rows.append(row)
            for kind, feature in enumerate(_FEATURES):
                found = feature(letters)
                self.n_grams[kind, row] = len(found)
                for gram in found:
                    grams.append(gram_ids.setdefault(gram, len(gram_ids)))
                    gram_rows.append(row)
        self.postings = _Csr.build(gram_ids, grams, gram_rows)
        self.buckets = _Csr.build(bucket_ids, buckets, bucket_rows)

    def __len__(self) -> int:
        return len(self.names)

    def preselect(self, query: str, budget: int, rescore: int | None = None) -> np.ndarray:
        """Rows worth scoring exactly: the query's sound bucket plus the best ``budget`` by ALINE among the top
        ``rescore`` by summed n-gram Dice (all of them when ``rescore`` is at most ``budget``)."""
        letters = phonetic_letters(query)[:MAX_LETTERS]
        if not letters:
            return np.zeros(0, dtype=np.int64)
        bucket = self.buckets.get(sound_key(query))
        parts = [np.zeros(0, dtype=np.int64) if bucket is None else bucket.astype(np.int64)]
        dice = np.zeros(len(self.names), dtype=np.float32)
        for kind, feature in enumerate(_FEATURES):
            grams = feature(letters)
            lists = [rows for rows in map(self.postings.get, grams) if rows is not None]
            if lists:
                shared = np.bincount(np.concatenate(lists), minlength=len(self.names))
                dice += 2.0 * shared / (len(grams) + self.n_grams[kind])
        touched = np.flatnonzero(dice)
        wide = max(budget, rescore or 0)
        if len(touched) > wide:
            touched = touched[np.argpartition(-dice[touched], wide - 1)[:wide]]
        if len(touched) > budget:
            touched = touched[self._best_by_aline(query, touched, budget)]
        parts.append(touched)
        return np.unique(np.concatenate(parts).astype(np.int64))

    def _best_by_aline(self, query: str, rows: np.ndarray, budget: int) -> np.ndarray:
        """Positions in ``rows`` of the ``budget`` names most similar to ``query`` by normalised ALINE."""
        sims = similarity_from_codes(*self._query_codes(query), self.codes, self.lengths, self.self_scores, rows)
        return np.argpartition(-sims, budget - 1)[:budget]

    @staticmethod
    def _query_codes(query: str) -> tuple[np.ndarray, int]:
        q_codes, q_len = encode([query], width=MAX_LETTERS)
        q_len0 = int(q_len[0])
        return q_codes[:, : max(1, q_len0)], q_len0

    def score_rows(self, query: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(combined, phonetic, orthographic) similarity of ``query`` to the given rows (``score_encoded``)."""
        return score_encoded(query, self.codes[rows], self.lengths[rows], self.self_scores[rows], self.phonetic_weight)

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id's name, -1 for an id without one (its mark has no name and no text read)."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(ids), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.ids, ids, sorter=self._by_id), len(self.ids) - 1)
        rows = self._by_id[at]
        return np.where(self.ids[rows] == ids, rows, -1)

    def similarity(self, query: str, rows: np.ndarray) -> np.ndarray:
        """``text_similarity_many(query, names of rows)`` from the encoded columns (no name encoded or
        self-scored again per query): NaN where a row is -1, has no letters, or the query has none."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full(len(rows), np.nan)
        if not phonetic_letters(query)[:MAX_LETTERS]:
            return out
        named = np.flatnonzero(rows >= 0)
        named = named[self.lengths[rows[named]] > 0]
        if len(named):
            out[named] = self.score_rows(query, rows[named])[0]
        return out

    def search(self, query: str, k: int, budget: int, rescore: int | None = None) -> list[NameHit]:
        rows = self.preselect(query, budget, rescore)
        if not len(rows):
            return []
        score, phon, orth = self.score_rows(query, rows)
        order = np.lexsort((rows, -score))[:k]
        return [
            NameHit(int(rows[i]), int(self.ids[rows[i]]), self.names[rows[i]], float(score[i]), float(phon[i]), float(orth[i]))
            for i in order
        ]

    def brute_force_aline(self, query: str, k: int) -> np.ndarray:
        """Rows of the k names with the highest ALINE similarity, scoring every name (for measuring recall)."""
        sims = similarity_from_codes(*self._query_codes(query), self.codes, self.lengths, self.self_scores)
        return np.argsort(-sims, kind="stable")[:k]

    def save(self, path: Path) -> None:
        """One uncompressed ``.npz`` (into a version's staging folder; index_io.py fsyncs it)."""
        text = "\0".join(n.replace("\0", " ") for n in self.names).encode()
        keys = json.dumps({"grams": self.postings.keys, "buckets": self.buckets.keys}).encode()
        with open(path, "wb") as fh:
            np.savez(fh, format=np.int64(FORMAT), ids=self.ids, codes=self.codes, lengths=self.lengths,
                     self_scores=self.self_scores, n_grams=self.n_grams, names=np.frombuffer(text, np.uint8),
                     keys=np.frombuffer(keys, np.uint8), gram_offsets=self.postings.offsets,
                     gram_rows=self.postings.rows, bucket_offsets=self.buckets.offsets, bucket_rows=self.buckets.rows)

    @classmethod
    def load(cls, path: Path, phonetic_weight: float) -> NameIndex:
        with np.load(path) as z:
            if int(z["format"]) != FORMAT:
                raise ValueError(f"{path}: name index format {int(z['format'])} is not {FORMAT}")
            index = cls.__new__(cls)
            index.ids, index.codes, index.lengths = z["ids"], z["codes"], z["lengths"]
            index._by_id = np.argsort(index.ids, kind="stable")
            index.self_scores, index.n_grams = z["self_scores"], z["n_grams"]
            text = z["names"].tobytes().decode()
            index.names = text.split("\0") if len(index.ids) else []
            keys = json.loads(z["keys"].tobytes().decode())
            index.postings = _Csr(keys["grams"], z["gram_offsets"], z["gram_rows"])
            index.buckets = _Csr(keys["buckets"], z["bucket_offsets"], z["bucket_rows"])
        index.phonetic_weight = phonetic_weight
        return index


__all__ = ["PAD", "NameHit", "NameIndex", "sound_key"]

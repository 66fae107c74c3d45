"""Make abydos 0.5.0 (the reference ALINE implementation, used as a test oracle) importable on numpy 2 and
Python 3.10+.

abydos imports names that numpy 2 removed (``numpy.NINF``, ``numpy.float``, ``numpy.int``) and
``collections.Iterable`` (moved to ``collections.abc`` in Python 3.10). ``import_abydos_distance()`` restores
exactly those aliases, each only if it is missing, then imports ``abydos.distance``. Nothing else is touched.
"""

from __future__ import annotations

import collections
import collections.abc
import importlib
from types import ModuleType

import numpy as np

_NUMPY_ALIASES = {"NINF": -np.inf, "float": float, "int": int}
_COLLECTIONS_ALIASES = ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable")


def _restore_aliases() -> None:
    for name, value in _NUMPY_ALIASES.items():
        if name not in np.__dict__:
            setattr(np, name, value)
    for name in _COLLECTIONS_ALIASES:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def import_abydos_distance() -> ModuleType:
    """``abydos.distance``, importable on this interpreter; ImportError with a hint if abydos is missing."""
    _restore_aliases()
    try:
        return importlib.import_module("abydos.distance")
    except ModuleNotFoundError as exc:
        raise ImportError("abydos is not installed: `pip install -e .[dev]` (it is a test/benchmark oracle)") from exc

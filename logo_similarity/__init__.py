"""logo-similarity: a search engine for trademark logos."""

import os as _os

# Idle OpenMP threads (FAISS, torch) wait passively instead of spinning. A query runs several thread pools one
# after another (the embedder's and the OCR's onnxruntime sessions, FAISS): on two cores a pool that spins for
# a while after its work steals the CPU the next stage needs, which had doubled a query's time (p50 268 -> 134
# ms with runtime.py's sessions not spinning either; scripts/bench/profile_query.py). Set before FAISS or torch
# load their OpenMP runtime, which reads it once; a value in the environment wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

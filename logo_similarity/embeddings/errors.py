"""Errors of the embedding stage, importable without loading torch."""


class PretrainedWeightsError(RuntimeError):
    """The pretrained weights are missing or do not fit the model. Never fall back to random weights."""


class EmbedderError(RuntimeError):
    """An embedder cannot do what was asked of it (the message says why)."""

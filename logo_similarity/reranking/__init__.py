"""Stage 2: re-score the first stage's candidates with more evidence than the embedding alone."""

from logo_similarity.reranking.composite import composite_scores

__all__ = ["composite_scores"]

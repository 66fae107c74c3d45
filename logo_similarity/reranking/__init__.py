"""Stage 2: component scores over the stage-1 candidates (``rerank.py``), fused by one rule (``fusion.py``)."""

from logo_similarity.reranking.fusion import best_rows, composite_scores, fused_scores, fusion_weights, ranking

__all__ = ["best_rows", "composite_scores", "fused_scores", "fusion_weights", "ranking"]

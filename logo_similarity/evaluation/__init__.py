from logo_similarity.evaluation.logobench import evaluate_logobench
from logo_similarity.evaluation.metrics import (
    average_precision_at_k,
    full_ranks,
    map_at_k,
    normalized_average_rank,
    recall_at_k,
    relevance_matrix,
)
from logo_similarity.evaluation.vienna import evaluate_vienna, vienna_relevance

__all__ = [
    "average_precision_at_k",
    "evaluate_logobench",
    "evaluate_vienna",
    "full_ranks",
    "map_at_k",
    "normalized_average_rank",
    "recall_at_k",
    "relevance_matrix",
    "vienna_relevance",
]

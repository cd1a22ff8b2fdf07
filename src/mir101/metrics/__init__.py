"""Metrics: thin wrappers over the field's libraries, and the few no library has.

One file per family, every function registered by name in :data:`METRICS`:
multi-pitch (``mir_eval``), ranking for cover-song identification (MAP, MR1, P@k), the
Frechet distance, KID and Inception Score of sets of embeddings (FID / FAD; generation) and the
collapse monitors of self-supervised embeddings (standard deviation, alignment, uniformity).
"""

from mir101.metrics.classification import (
    confusion,
    frame_accuracy,
    mir_eval_chord,
    multiclass_scores,
    multilabel_scores,
    per_tag_scores,
)
from mir101.metrics.frechet import frechet_distance, frechet_distance_from_statistics, gaussian_statistics
from mir101.metrics.kid import inception_score, kernel_inception_distance
from mir101.metrics.multipitch import mir_eval_multipitch, mir_eval_notes
from mir101.metrics.ranking import (
    evaluate_ranking,
    mean_average_precision,
    mean_rank_first,
    mean_reciprocal_rank,
    precision_at_k,
    relevance_ranks,
)
from mir101.metrics.registry import METRICS
from mir101.metrics.representation import alignment, collapse_metrics, embedding_std, uniformity

__all__ = [
    "METRICS",
    "mir_eval_multipitch",
    "mir_eval_notes",
    "mean_average_precision",
    "mean_rank_first",
    "mean_reciprocal_rank",
    "precision_at_k",
    "evaluate_ranking",
    "relevance_ranks",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "gaussian_statistics",
    "kernel_inception_distance",
    "inception_score",
    "multiclass_scores",
    "confusion",
    "multilabel_scores",
    "per_tag_scores",
    "frame_accuracy",
    "mir_eval_chord",
    "embedding_std",
    "alignment",
    "uniformity",
    "collapse_metrics",
]

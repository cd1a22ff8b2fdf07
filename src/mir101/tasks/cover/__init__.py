"""Cover-song identification: metric learning, ranking protocols, the classic baseline, search.

Book page: ``book/cover.md``.
"""

from mir101.tasks.cover.classic import block_chroma, classic_distances, dtw_distance, optimal_transposition
from mir101.tasks.cover.search import EmbeddingIndex, faiss_available, knn
from mir101.tasks.cover.task import Cover, CoverOptions, protocol_scores

__all__ = [
    "Cover",
    "CoverOptions",
    "protocol_scores",
    "block_chroma",
    "optimal_transposition",
    "dtw_distance",
    "classic_distances",
    "EmbeddingIndex",
    "knn",
    "faiss_available",
]

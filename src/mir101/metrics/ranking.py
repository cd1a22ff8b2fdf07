"""Ranking metrics of cover-song identification: MAP, MR1, MRR and precision at k from a distance matrix.

Protocol: MIREX Audio Cover Song Identification (https://www.music-ir.org/mirex/wiki/Audio_Cover_Song_Identification),
as used by Yesiler, Serra & Gomez, "Da-TACOS: A Dataset for Cover Song Identification and
Understanding", ISMIR 2019, and Doras & Peeters, "Cover detection using dominant melody embeddings",
ISMIR 2019.

Every item of a collection is a query in turn; the *other* items are ranked by their distance to
it (closest first; the query itself is never a candidate); the relevant candidates are the other
versions of the same work (same label). For one query with relevant candidates at ranks
``r_1 < r_2 < ... < r_R`` (1-based):

- average precision ``AP = (1 / R) sum_j j / r_j`` (precision at each relevant rank),
- rank of the first correct answer ``r_1``, and its reciprocal ``1 / r_1``,
- precision at ``k`` ``P@k = |{j : r_j <= k}| / k``.

MAP, MR1, MRR and P@k are their means over the queries. ``exclude`` removes candidates from a
query's list (protocol (ii) of harmonisation covers: the query chorale's own renditions are
neither relevant nor candidates); the ranks are then counted among the remaining candidates. A query whose work has no other version in
the collection has nothing to find and is left out of every mean (MIREX collections have none); with no query left, the scores are NaN.
Ties are broken by candidate index (a stable sort), so scores do not depend on the platform.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mir101.errors import ParameterError, ShapeError
from mir101.metrics.registry import METRICS

__all__ = [
    "relevance_ranks",
    "mean_average_precision",
    "mean_rank_first",
    "mean_reciprocal_rank",
    "precision_at_k",
    "evaluate_ranking",
]


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def relevance_ranks(
    distances: Any, labels: Any, similarity: bool = False, exclude: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's ranked candidates, as a relevance mask.

    Args:
        distances: ``(n, n)`` pairwise distances (or similarities if ``similarity``) between the
            items; row ``i`` is query ``i``. A numpy array or a torch tensor.
        labels: ``(n,)`` work (clique) id of each item.
        similarity: higher means closer (e.g. cosine similarity) instead of a distance.
        exclude: ``(n, n)`` bool, ``exclude[i, j]`` removes ``j`` from query ``i``'s candidates
            (ranked after every other candidate and never relevant); ``None``: none removed.

    Returns:
        ``(relevant, has_relevant)``: ``relevant`` ``(q, n - 1)`` bool, ``relevant[i, r]`` is True
        when query ``i``'s candidate at rank ``r + 1`` is another version of its work, for the
        ``q`` queries that have at least one; ``has_relevant`` ``(n,)`` marks those queries.
    """
    d = _as_numpy(distances).astype(np.float64)
    lab = _as_numpy(labels).reshape(-1)
    n = len(lab)
    if d.shape != (n, n):
        raise ShapeError(
            f"ranking metrics need distances of shape (n, n) = ({n}, {n}) for {n} labels, got {d.shape}"
        )
    if n < 2:
        raise ParameterError(f"ranking metrics need at least 2 items, got {n}")
    if np.isnan(d).any():
        raise ParameterError("ranking metrics: the distance matrix holds NaN")
    score = -d if similarity else d
    score = score.copy()
    removed = np.eye(n, dtype=bool)  # the query is never its own candidate
    if exclude is not None:
        ex = _as_numpy(exclude).astype(bool)
        if ex.shape != (n, n):
            raise ShapeError(f"ranking metrics: exclude must have shape ({n}, {n}), got {ex.shape}")
        removed |= ex
    score[removed] = np.inf  # removed candidates: ranked last (a stable sort), never relevant
    order = np.argsort(score, axis=1, kind="stable")[:, : n - 1]  # (n, n - 1) candidates, closest first
    relevant = (lab[order] == lab[:, None]) & ~np.take_along_axis(removed, order, axis=1)
    has = relevant.any(axis=1)
    return relevant[has], has


@METRICS.register("mean_average_precision")
def mean_average_precision(distances: Any, labels: Any, similarity: bool = False) -> float:
    """Mean over queries of the average precision of their ranked candidates (see module docstring).

    Examples:
        >>> d = np.array([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]])
        >>> mean_average_precision(d, [0, 0, 1, 1])
        1.0
        >>> mean_average_precision(d, [0, 1, 0, 1])  # each version ranked second: AP = 1/2
        0.5
    """
    return _map(relevance_ranks(distances, labels, similarity)[0])


@METRICS.register("mean_rank_first")
def mean_rank_first(distances: Any, labels: Any, similarity: bool = False) -> float:
    """Mean over queries of the (1-based) rank of their first correct candidate; 1 is perfect."""
    return _mr1(relevance_ranks(distances, labels, similarity)[0])


@METRICS.register("mean_reciprocal_rank")
def mean_reciprocal_rank(distances: Any, labels: Any, similarity: bool = False) -> float:
    """Mean over queries of ``1 / r_1``, the reciprocal rank of their first correct candidate.

    Examples:
        >>> d = np.array([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]])
        >>> mean_reciprocal_rank(d, [0, 1, 0, 1])
        0.5
    """
    return _mrr(relevance_ranks(distances, labels, similarity)[0])


@METRICS.register("precision_at_k")
def precision_at_k(distances: Any, labels: Any, k: int = 10, similarity: bool = False) -> float:
    """Mean over queries of the fraction of their ``k`` closest candidates that are versions of their work.

    ``k`` larger than the ``n - 1`` candidates counts the missing ranks as wrong (the fraction is
    still over ``k``), as MIREX's "mean number of covers in the top 10" divided by 10.
    """
    return _precision(relevance_ranks(distances, labels, similarity)[0], k)


@METRICS.register("evaluate_ranking")
def evaluate_ranking(
    distances: Any,
    labels: Any,
    ks: tuple[int, ...] = (1, 10),
    similarity: bool = False,
    exclude: Any = None,
) -> dict[str, float]:
    """The cover-song scores in one dict: ``MAP``, ``MR1``, ``MRR``, ``P@k`` for each ``k`` and ``queries``.

    Args:
        distances: ``(n, n)`` distances (or similarities) between all items.
        labels: ``(n,)`` work id of each item.
        ks: the cut-offs of precision at k.
        similarity: higher means closer.
        exclude: ``(n, n)`` bool, candidates removed from each query's list (see
            :func:`relevance_ranks`).

    Examples:
        >>> d = np.array([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]])
        >>> evaluate_ranking(d, [0, 1, 0, 1], ks=(1,))
        {'MAP': 0.5, 'MR1': 2.0, 'MRR': 0.5, 'P@1': 0.0, 'queries': 4.0}
    """
    relevant, _ = relevance_ranks(distances, labels, similarity, exclude)  # ranked once for all scores
    out = {"MAP": _map(relevant), "MR1": _mr1(relevant), "MRR": _mrr(relevant)}
    for k in ks:
        out[f"P@{int(k)}"] = _precision(relevant, k)
    out["queries"] = float(len(relevant))
    return out


def _map(relevant: np.ndarray) -> float:
    if not len(relevant):
        return float("nan")
    hits = np.cumsum(relevant, axis=1)  # (q, n - 1) relevant candidates up to each rank
    ranks = np.arange(1, relevant.shape[1] + 1)
    ap = (relevant * hits / ranks).sum(axis=1) / relevant.sum(axis=1)
    return float(ap.mean())


def _mr1(relevant: np.ndarray) -> float:
    if not len(relevant):
        return float("nan")
    return float((relevant.argmax(axis=1) + 1).mean())


def _mrr(relevant: np.ndarray) -> float:
    if not len(relevant):
        return float("nan")
    return float((1.0 / (relevant.argmax(axis=1) + 1)).mean())


def _precision(relevant: np.ndarray, k: int) -> float:
    if int(k) != k or k < 1:
        raise ParameterError(f"precision_at_k: k={k} must be a positive integer")
    if not len(relevant):
        return float("nan")
    return float((relevant[:, : int(k)].sum(axis=1) / int(k)).mean())

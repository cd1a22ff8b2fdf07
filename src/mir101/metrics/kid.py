"""Kernel Inception Distance and Inception Score: two more ways to compare generated and real sets.

Papers: Binkowski, Sutherland, Arbel & Gretton, "Demystifying MMD GANs", ICLR 2018,
https://arxiv.org/abs/1801.01401 (KID); Salimans et al., "Improved Techniques for Training GANs",
NeurIPS 2016, https://arxiv.org/abs/1606.03498 (Inception Score).

KID is the squared maximum mean discrepancy between two sets of embeddings with the cubic
polynomial kernel ``k(x, y) = (x.y / dim + 1)^3``, estimated without bias (so it can be slightly
negative, and it is unbiased even for small sets, unlike the Frechet distance). The Inception
Score ``exp(E_x KL(p(y|x) || p(y)))`` is high when a classifier is sure of each generated item's
class (``p(y|x)`` peaked) and the classes are varied (``p(y)`` flat); it needs no real set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mir101.errors import ParameterError, ShapeError
from mir101.metrics.frechet import _as_numpy
from mir101.metrics.registry import METRICS

__all__ = ["kernel_inception_distance", "inception_score"]


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.mean()
    )


@METRICS.register("kernel_inception_distance")
def kernel_inception_distance(
    x: Any, y: Any, subset_size: int | None = None, n_subsets: int = 10, seed: int = 0
) -> float:
    """Unbiased MMD^2 with the kernel ``(x.y / dim + 1)^3`` between ``(n, dim)`` and ``(m, dim)`` embeddings.

    Args:
        x, y: two sets of embeddings (same ``dim``, at least 2 items each).
        subset_size: average the estimate over ``n_subsets`` random subsets of this many items
            of each set (Binkowski et al.'s protocol for large sets); ``None``: the whole sets.
        n_subsets, seed: see ``subset_size``.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
        >>> abs(kernel_inception_distance(a, b)) < 0.05, kernel_inception_distance(a, b + 0.5) > 1
        (True, True)
    """
    a, b = _as_numpy(x), _as_numpy(y)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ShapeError(f"KID needs two sets (n >= 2, dim) of one dim, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ParameterError("KID: the embeddings hold NaN or inf")
    if subset_size is None or subset_size >= min(len(a), len(b)):
        return _mmd2_unbiased(a, b)
    rng = np.random.default_rng(seed)
    return float(
        np.mean(
            [
                _mmd2_unbiased(
                    a[rng.choice(len(a), subset_size, False)], b[rng.choice(len(b), subset_size, False)]
                )
                for _ in range(n_subsets)
            ]
        )
    )


@METRICS.register("inception_score")
def inception_score(probabilities: Any, eps: float = 1e-12) -> float:
    """``exp(mean_i KL(p(y|x_i) || p(y)))`` of ``(n, classes)`` class probabilities (1 to ``classes``).

    Examples:
        >>> round(inception_score(np.eye(4)), 6)           # sure and varied: the number of classes
        4.0
        >>> round(inception_score(np.full((5, 4), 0.25)), 6)  # unsure: 1
        1.0
    """
    p = _as_numpy(probabilities)
    if p.ndim != 2 or len(p) < 1:
        raise ShapeError(f"inception_score needs (n, classes) probabilities, got {p.shape}")
    if (p < -1e-6).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ParameterError("inception_score: each row must be a probability distribution (>= 0, sums to 1)")
    marginal = p.mean(axis=0, keepdims=True)
    kl = (p * (np.log(p + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))

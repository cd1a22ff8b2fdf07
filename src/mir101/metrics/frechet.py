"""Frechet distance between two sets of embeddings (FID; FAD when the embeddings are audio's).

Papers: Heusel, Ramsauer, Unterthiner, Nessler & Hochreiter, "GANs Trained by a Two Time-Scale
Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017, https://arxiv.org/abs/1706.08500
(FID); Kilgour, Zuluaga, Roblek & Sharifi, "Frechet Audio Distance: A Metric for Evaluating Music
Enhancement Algorithms", Interspeech 2019, https://arxiv.org/abs/1812.08466 (FAD).

Each set is summarised by a Gaussian, its mean ``mu`` and covariance ``S``; the Frechet (2-Wasserstein)
distance between two Gaussians is

    ``d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))``.

The trace of the matrix square root is computed as ``sum sqrt(eig(A S_2 A))`` with
``A = S_1^(1/2)`` (symmetric, positive semi-definite), which has the same eigenvalues as
``S_1 S_2`` but stays real and stable, where ``scipy.linalg.sqrtm(S_1 @ S_2)`` (pytorch-fid) may
return small imaginary parts. Generation tasks report it between embeddings of generated and of
real audio: lower is closer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mir101.errors import ParameterError, ShapeError
from mir101.metrics.registry import METRICS

__all__ = ["gaussian_statistics", "frechet_distance_from_statistics", "frechet_distance"]


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def gaussian_statistics(embeddings: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(dim,)`` and unbiased covariance ``(dim, dim)`` of ``(n, dim)`` embeddings (n >= 2)."""
    x = _as_numpy(embeddings)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ShapeError(f"Frechet distance needs embeddings of shape (n >= 2, dim), got {x.shape}")
    if not np.isfinite(x).all():
        raise ParameterError("Frechet distance: the embeddings hold NaN or inf")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


@METRICS.register("frechet_distance_from_statistics")
def frechet_distance_from_statistics(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` between two Gaussians.

    Args:
        mu1, mu2: means ``(dim,)``.
        sigma1, sigma2: covariances ``(dim, dim)`` (symmetric, positive semi-definite).

    Examples:
        >>> frechet_distance_from_statistics([0, 0], np.diag([1, 4]), [3, 0], np.diag([4, 1]))  # 9 + 1 + 1
        11.0
    """
    m1, m2 = _as_numpy(mu1).reshape(-1), _as_numpy(mu2).reshape(-1)
    s1, s2 = np.atleast_2d(_as_numpy(sigma1)), np.atleast_2d(_as_numpy(sigma2))
    dim = len(m1)
    if m2.shape != (dim,) or s1.shape != (dim, dim) or s2.shape != (dim, dim):
        raise ShapeError(
            f"Frechet distance needs means (dim,) and covariances (dim, dim) of one dim, got "
            f"mu1 {m1.shape}, sigma1 {s1.shape}, mu2 {m2.shape}, sigma2 {s2.shape}"
        )
    a = _sqrt_psd(s1)
    eig = np.linalg.eigvalsh(a @ s2 @ a)
    tr_covmean = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    d2 = float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(d2, 0.0)


@METRICS.register("frechet_distance")
def frechet_distance(x: Any, y: Any) -> float:
    """Frechet distance between the Gaussians fitted to two sets of embeddings.

    Args:
        x: ``(n, dim)`` embeddings of one set (e.g. real audio).
        y: ``(m, dim)`` embeddings of the other (e.g. generated audio), same ``dim``.

    Examples:
        >>> x = np.random.default_rng(0).normal(size=(100, 4))
        >>> round(frechet_distance(x, x), 9)
        0.0

    References:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
        Equilibrium", NeurIPS 2017, https://arxiv.org/abs/1706.08500
    """
    mu1, s1 = gaussian_statistics(x)
    mu2, s2 = gaussian_statistics(y)
    if mu1.shape != mu2.shape:
        raise ShapeError(
            f"Frechet distance needs two sets of the same dim, got {mu1.shape[0]} and {mu2.shape[0]}"
        )
    return frechet_distance_from_statistics(mu1, s1, mu2, s2)

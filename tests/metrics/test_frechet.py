"""Frechet distance: 0 for identical sets, closed form for diagonal Gaussians, scipy's sqrtm agrees."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from mir101.errors import ShapeError
from mir101.metrics import METRICS, frechet_distance, frechet_distance_from_statistics, gaussian_statistics


def test_zero_for_identical_sets():
    x = np.random.default_rng(0).normal(size=(200, 8)) @ np.random.default_rng(1).normal(size=(8, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(torch.tensor(x), torch.tensor(x)) == pytest.approx(0.0, abs=1e-8)


def test_diagonal_gaussians_closed_form():
    # d^2 = ||mu1 - mu2||^2 + sum_i (sqrt(s1_i) - sqrt(s2_i))^2 = 4 + (1 - 3)^2 + (2 - 1)^2 = 9
    mu1, var1 = np.array([0.0, 1.0]), np.array([1.0, 4.0])
    mu2, var2 = np.array([2.0, 1.0]), np.array([9.0, 1.0])
    assert frechet_distance_from_statistics(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(9.0)
    rng = np.random.default_rng(0)
    x = mu1 + np.sqrt(var1) * rng.standard_normal((200_000, 2))
    y = mu2 + np.sqrt(var2) * rng.standard_normal((200_000, 2))
    assert frechet_distance(x, y) == pytest.approx(9.0, abs=0.1)


def test_agrees_with_scipy_sqrtm_formula():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5)), rng.normal(size=(300, 5)) + 1
    mu1, s1 = gaussian_statistics(x)
    mu2, s2 = gaussian_statistics(y)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(y, x) == pytest.approx(expected, rel=1e-6)  # symmetric


def test_registry_and_errors():
    assert METRICS.get("frechet_distance") is frechet_distance
    with pytest.raises(ShapeError, match="same dim"):
        frechet_distance(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ShapeError, match=r"\(1, 2\)"):
        frechet_distance(np.zeros((1, 2)), np.zeros((4, 2)))

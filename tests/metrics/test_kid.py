"""KID (unbiased polynomial-kernel MMD^2) against a hand computation, and the Inception Score's bounds."""

from __future__ import annotations

import numpy as np
import pytest

from mir101.errors import ParameterError, ShapeError
from mir101.metrics import METRICS, inception_score, kernel_inception_distance


def test_kid_matches_a_loop_over_pairs():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 0.3
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    xy = sum(k(a, b) for a in x for b in y) / 35
    assert kernel_inception_distance(x, y) == pytest.approx(xx + yy - 2 * xy)
    assert METRICS.get("kernel_inception_distance") is kernel_inception_distance


def test_kid_near_zero_for_one_distribution_and_grows_with_the_shift():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    kids = [kernel_inception_distance(x, rng.normal(size=(400, 4)) + s, subset_size=200) for s in (0, 0.5, 1)]
    assert abs(kids[0]) < 0.05 and kids[0] < kids[1] < kids[2]
    with pytest.raises(ShapeError):
        kernel_inception_distance(x, x[:, :2])
    with pytest.raises(ParameterError):
        kernel_inception_distance(x, np.full((3, 4), np.nan))


def test_inception_score():
    assert inception_score(np.eye(3)[[0, 1, 2, 0, 1, 2]]) == pytest.approx(3.0)
    assert inception_score(np.eye(3)[[0, 0, 0]]) == pytest.approx(1.0)  # sure but not varied
    with pytest.raises(ParameterError):
        inception_score(np.ones((2, 3)))

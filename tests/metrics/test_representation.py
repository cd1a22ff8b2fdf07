"""Collapse monitors: standard deviation, alignment and uniformity on hand-made embeddings."""

from __future__ import annotations

import math

import pytest
import torch

from mir101.errors import ShapeError
from mir101.metrics import METRICS, alignment, collapse_metrics, embedding_std, uniformity


def test_collapse_gives_zero_std_and_zero_uniformity():
    z = torch.ones(10, 6) * 3.0
    assert embedding_std(z).item() == pytest.approx(0.0, abs=1e-7)
    assert uniformity(z).item() == pytest.approx(0.0, abs=1e-6)
    assert alignment(z, z).item() == pytest.approx(0.0, abs=1e-7)


def test_spread_embeddings_approach_one_over_sqrt_dim():
    torch.manual_seed(0)
    d = 16
    z = torch.randn(4000, d)
    assert embedding_std(z).item() == pytest.approx(1 / math.sqrt(d), rel=0.05)
    # uniform on the sphere gives a lower (better) uniformity than a half-collapsed batch
    half = torch.cat([z[:2000], torch.ones(2000, d)])
    assert uniformity(z[:500]).item() < uniformity(half[::8]).item() < 0


def test_hand_computed_values():
    # orthogonal unit vectors: every pair at squared distance 2: log exp(-2 * 2) = -4
    assert uniformity(torch.eye(5)).item() == pytest.approx(-4.0, abs=1e-5)
    # the views at right angles: squared distance 2
    assert alignment(torch.eye(3), torch.eye(3).roll(1, dims=1)).item() == pytest.approx(2.0, abs=1e-6)
    m = collapse_metrics(torch.eye(3), torch.eye(3))
    assert set(m) == {"embedding_std", "alignment", "uniformity"} and m["alignment"].item() == 0.0
    assert METRICS.get("uniformity") is uniformity


def test_bad_shapes():
    with pytest.raises(ShapeError, match="batch >= 2"):
        embedding_std(torch.ones(1, 4))
    with pytest.raises(ShapeError):
        alignment(torch.ones(3, 4), torch.ones(3, 5))

"""VICReg: the three terms on hand-made embeddings, the weights, collapse, errors."""

from __future__ import annotations

import pytest
import torch

from mir101.errors import ParameterError, ShapeError
from mir101.losses import VICRegLoss, build_loss, vicreg_terms


def spread(n: int = 64, d: int = 8, seed: int = 0) -> torch.Tensor:
    """Decorrelated dimensions of standard deviation 2: above the variance hinge."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, d, generator=g))  # orthonormal columns
    z = q - q.mean(dim=0)
    z, _ = torch.linalg.qr(z)
    return 2 * z * (n - 1) ** 0.5


def test_identical_spread_views_cost_nothing():
    z = spread()
    terms = vicreg_terms(z, z)
    assert terms["invariance"].item() == pytest.approx(0.0, abs=1e-6)
    assert terms["variance"].item() == pytest.approx(0.0, abs=1e-6)
    assert terms["covariance"].item() == pytest.approx(0.0, abs=1e-4)
    assert VICRegLoss()(z, z).item() == pytest.approx(0.0, abs=1e-3)


def test_collapse_costs_the_variance_hinge():
    z = torch.ones(16, 8)  # every input mapped to one point
    terms = vicreg_terms(z, z)
    # std = sqrt(0 + eps) per dimension, for both branches: 2 * (gamma - 0.01)
    assert terms["variance"].item() == pytest.approx(2 * (1 - 0.01), rel=1e-5)
    assert VICRegLoss(variance_weight=25)(z, z).item() == pytest.approx(25 * 1.98, rel=1e-5)


def test_swapping_pairs_raises_the_invariance_only():
    z1 = spread()
    z2 = z1.roll(1, dims=0)  # each view paired with another item's
    terms = vicreg_terms(z1, z2)
    assert terms["invariance"].item() > 1.0
    assert terms["variance"].item() == pytest.approx(0.0, abs=1e-6)


def test_correlated_dimensions_cost_covariance():
    z = spread()
    z[:, 1] = z[:, 0]  # two dimensions carry the same signal (dimensional collapse)
    assert vicreg_terms(z, z)["covariance"].item() > 1.0


def test_weights_and_registry():
    torch.manual_seed(0)
    z1, z2 = torch.randn(10, 4), torch.randn(10, 4)
    t = vicreg_terms(z1, z2)
    loss = build_loss("vicreg", invariance_weight=2.0, variance_weight=3.0, covariance_weight=0.5)
    expected = 2 * t["invariance"] + 3 * t["variance"] + 0.5 * t["covariance"]
    assert loss(z1, z2).item() == pytest.approx(expected.item(), rel=1e-5)
    assert set(loss.last_terms) == {"invariance", "variance", "covariance"}


def test_gradient_spreads_a_collapsed_batch():
    torch.manual_seed(0)
    z = (torch.ones(8, 4) + 0.01 * torch.randn(8, 4)).requires_grad_()
    loss = VICRegLoss()(z, z.detach() + 0.0)
    loss.backward()
    with torch.no_grad():
        assert VICRegLoss()(z - 0.05 * z.grad, z.detach()) < loss


def test_bad_arguments():
    with pytest.raises(ParameterError, match=">= 0"):
        VICRegLoss(variance_weight=-1)
    with pytest.raises(ShapeError, match="batch >= 2"):
        VICRegLoss()(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ShapeError):
        VICRegLoss()(torch.randn(4, 3), torch.randn(4, 2))

"""NT-Xent: hand-computed value, symmetry, temperature, gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from mir101.errors import ParameterError, ShapeError
from mir101.losses import NTXentLoss


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_hand_computed_orthogonal_items(tau):
    # two orthogonal items with identical views: each of the 4 rows has the positive at cos 1 and
    # two negatives at cos 0: -log(e^(1/tau) / (e^(1/tau) + 2)) = log(1 + 2 e^(-1/tau))
    z = torch.eye(2)
    assert NTXentLoss(tau)(z, z).item() == pytest.approx(
        math.log(1 + 2 * math.exp(-1 / tau)), rel=1e-4, abs=1e-6
    )


def test_matches_a_loop_over_the_2n_views():
    torch.manual_seed(0)
    z1, z2 = torch.randn(5, 8), torch.randn(5, 8)
    tau = 0.3
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    total = 0.0
    for k in range(10):
        pos = (k + 5) % 10
        den = sum(math.exp(float(z[k] @ z[j]) / tau) for j in range(10) if j != k)
        total += -math.log(math.exp(float(z[k] @ z[pos]) / tau) / den)
    assert NTXentLoss(tau)(z1, z2).item() == pytest.approx(total / 10, rel=1e-5)


def test_symmetric_and_scale_free():
    torch.manual_seed(0)
    z1, z2 = torch.randn(6, 4), torch.randn(6, 4)
    loss = NTXentLoss(0.2)
    assert loss(z1, z2).item() == pytest.approx(loss(z2, z1).item(), rel=1e-6)
    assert loss(3 * z1, z2).item() == pytest.approx(loss(z1, z2).item(), rel=1e-5)


def test_gradient_step_pulls_views_together():
    torch.manual_seed(0)
    z1, z2 = torch.randn(6, 4, requires_grad=True), torch.randn(6, 4)
    loss = NTXentLoss(0.5)(z1, z2)
    loss.backward()
    assert torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0
    with torch.no_grad():
        assert NTXentLoss(0.5)(z1 - 0.5 * z1.grad, z2) < loss


def test_bad_arguments():
    with pytest.raises(ParameterError, match="temperature=0"):
        NTXentLoss(0)
    with pytest.raises(ShapeError):
        NTXentLoss()(torch.randn(4, 3), torch.randn(5, 3))

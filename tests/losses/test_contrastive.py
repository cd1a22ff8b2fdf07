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


# ---------------------------------------------------------------------------- the definitions
@pytest.mark.parametrize("n", [2, 4, 8])
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_identical_positives_and_orthogonal_negatives_give_the_known_minimum(n, tau):
    # N orthogonal items, identical views: every row sees its positive at cos 1 and 2N - 2
    # negatives at cos 0: the loss is log(1 + (2N - 2) e^(-1/tau)), the minimum over embeddings
    # whose negatives are orthogonal
    z = torch.eye(n)
    expected = math.log(1 + (2 * n - 2) * math.exp(-1 / tau))
    assert NTXentLoss(tau)(z, z).item() == pytest.approx(expected, rel=1e-4, abs=1e-6)
    # positives no longer identical (each view half turned towards a dimension of its own,
    # negatives still orthogonal): higher
    turned = torch.cat([torch.eye(n), torch.eye(n)], dim=1)
    assert NTXentLoss(tau)(torch.cat([z, torch.zeros(n, n)], dim=1), turned).item() > expected


def test_swapping_pairs_raises_the_loss():
    torch.manual_seed(0)
    z1 = torch.randn(6, 16)
    z2 = z1 + 0.05 * torch.randn(6, 16)  # good pairs
    loss = NTXentLoss(0.2)
    swapped = z2[torch.tensor([1, 0, 3, 2, 5, 4])]  # each view paired with another item's view
    assert loss(z1, swapped).item() > loss(z1, z2).item() + 1.0


def test_temperature_behaves_as_defined():
    # the loss is the cross-entropy of the cosine similarities divided by tau
    torch.manual_seed(0)
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    for tau in (0.05, 0.3, 2.0):
        z = F.normalize(torch.cat([z1, z2]), dim=1)
        logits = (z @ z.T / tau).masked_fill(torch.eye(8, dtype=torch.bool), -torch.inf)
        target = torch.tensor([4, 5, 6, 7, 0, 1, 2, 3])
        assert NTXentLoss(tau)(z1, z2).item() == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-5)
    # perfect pairs: the loss falls to 0 as tau -> 0; a high temperature flattens the softmax:
    # log(2N - 1), the loss of a uniform guess among the 2N - 1 candidates
    z = torch.eye(4)
    assert NTXentLoss(0.01)(z, z).item() < 1e-6
    assert NTXentLoss(1e4)(z, z).item() == pytest.approx(math.log(7), rel=1e-3)

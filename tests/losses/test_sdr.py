"""SI-SDR: hand-computed values, scale invariance, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from mir101.errors import ShapeError
from mir101.losses import SISDRLoss, si_sdr


def test_hand_computed_values():
    s = torch.tensor([1.0, 0.0, 0.0, 0.0])
    # alpha = <s_hat, s> / ||s||^2 = 2: target (2, 0, 0, 0), noise (0, 1, 0, 0): ratio 4
    assert si_sdr(torch.tensor([2.0, 1.0, 0.0, 0.0]), s, zero_mean=False).item() == pytest.approx(
        10 * math.log10(4), abs=1e-5
    )
    # alpha = 1: target (1, 0), noise (0, 1): 0 dB
    assert si_sdr(
        torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0]), zero_mean=False
    ).item() == pytest.approx(0.0, abs=1e-5)


def test_zero_mean_removes_offsets():
    torch.manual_seed(0)
    s, e = torch.randn(3, 200), torch.randn(3, 200)
    assert torch.allclose(si_sdr(s + 0.1 * e + 5.0, s), si_sdr(s + 0.1 * e, s), atol=1e-3)


@pytest.mark.parametrize("scale", [0.01, 0.5, 3.0, 100.0, -2.0])
def test_invariant_to_scaling(scale):
    torch.manual_seed(0)
    s = torch.randn(4, 2, 300)
    est = s + 0.3 * torch.randn_like(s)
    ref = si_sdr(est, s)
    assert torch.allclose(si_sdr(scale * est, s), ref, atol=1e-3)
    assert torch.allclose(si_sdr(est, abs(scale) * s), ref, atol=1e-3)


def test_loss_is_negative_sdr_and_reduction():
    torch.manual_seed(0)
    s = torch.randn(4, 300)
    est = s + 0.3 * torch.randn_like(s)
    assert SISDRLoss()(est, s).item() == pytest.approx(-si_sdr(est, s).mean().item(), rel=1e-6)
    assert SISDRLoss(reduction="none")(est, s).shape == (4,)


def test_gradient_improves_the_estimate():
    torch.manual_seed(0)
    s = torch.randn(2, 256)
    est = (s + torch.randn_like(s)).requires_grad_()
    loss = SISDRLoss()(est, s)
    loss.backward()
    assert torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0
    with torch.no_grad():
        assert SISDRLoss()(est - 0.1 * est.grad / est.grad.norm(), s) < loss


def test_silence_is_finite_and_shapes_checked():
    z = torch.zeros(2, 100)
    assert torch.isfinite(si_sdr(z, z)).all()
    with pytest.raises(ShapeError, match=r"\(2, 100\).*\(2, 99\)"):
        si_sdr(z, torch.zeros(2, 99))

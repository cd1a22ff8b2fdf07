"""Multi-resolution STFT loss: zero for identical signals, hand-checked terms, gradients."""

from __future__ import annotations

import pytest
import torch

from mir101.errors import ParameterError, ShapeError
from mir101.losses import MultiResolutionSTFTLoss, STFTLoss

SMALL = dict(fft_sizes=(64, 128, 32), hop_lengths=(16, 32, 8), win_lengths=(48, 96, 24))


@pytest.mark.parametrize("shape", [(2, 1000), (2, 3, 500)])
def test_zero_for_identical_signals(shape):
    x = torch.randn(*shape)
    loss = MultiResolutionSTFTLoss(**SMALL)
    assert loss(x, x).item() == 0.0
    assert all(v.item() == 0.0 for v in loss.terms(x, x).values())


def test_terms_against_their_definition():
    torch.manual_seed(0)
    x, y = torch.randn(2, 800), torch.randn(2, 800)
    one = STFTLoss(n_fft=64, hop_length=16, win_length=64)
    win = torch.hann_window(64)

    def mag(s):
        spec = torch.stft(s, 64, hop_length=16, win_length=64, window=win, return_complex=True)
        return spec.abs().clamp(min=1e-7**0.5)

    ex, ey = mag(x), mag(y)
    terms = one.terms(x, y)
    assert terms["sc"].item() == pytest.approx(((ey - ex).norm() / ey.norm()).item(), rel=1e-4)
    assert terms["mag"].item() == pytest.approx((ey.log() - ex.log()).abs().mean().item(), rel=1e-4)


def test_multi_resolution_is_mean_of_resolutions_and_weights():
    torch.manual_seed(0)
    x, y = torch.randn(2, 800), torch.randn(2, 800)
    loss = MultiResolutionSTFTLoss(**SMALL, factor_sc=2.0, factor_mag=0.5)
    singles = [STFTLoss(n, h, w).terms(x, y) for n, h, w in zip(*SMALL.values())]
    sc = sum(t["sc"] for t in singles) / 3
    mag = sum(t["mag"] for t in singles) / 3
    assert loss(x, y).item() == pytest.approx((2.0 * sc + 0.5 * mag).item(), rel=1e-5)


def test_grows_with_distortion_and_gradient_flows():
    torch.manual_seed(0)
    y = torch.randn(2, 800)
    loss = MultiResolutionSTFTLoss(**SMALL)
    small, large = loss(y + 0.01 * torch.randn_like(y), y), loss(y + torch.randn_like(y), y)
    assert 0 < small < large
    x = (y + 0.5 * torch.randn_like(y)).requires_grad_()
    loss(x, y).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_bad_arguments_and_shapes():
    with pytest.raises(ParameterError, match="same length"):
        MultiResolutionSTFTLoss(fft_sizes=(64, 32), hop_lengths=(16,), win_lengths=(64,))
    with pytest.raises(ParameterError, match="win_length=128"):
        STFTLoss(n_fft=64, hop_length=16, win_length=128)
    with pytest.raises(ShapeError):
        STFTLoss(64, 16, 64)(torch.randn(2, 100), torch.randn(2, 90))

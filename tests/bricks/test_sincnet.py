"""SincNet: shapes, band-pass filters with the learned band edges, mel-spaced init."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import SincConv
from mir101.errors import ParameterError, ShapeError

SR = 16000


@pytest.mark.parametrize("stride", [1, 4])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_output_frames(stride, padding):
    sinc = SincConv(out_channels=6, kernel_size=51, sample_rate=SR, stride=stride, padding=padding)
    y = sinc(torch.randn(2, 1, 400))
    n = 400 if padding == "same" else 400 - 50
    assert y.shape == (2, 6, (n - 1) // stride + 1)


def _response(sinc: SincConv, n_fft: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
    h = sinc.filters().detach().double()
    return torch.fft.rfftfreq(n_fft, 1 / SR), torch.fft.rfft(h, n=n_fft).abs()


@pytest.mark.parametrize("trained", [False, True])
def test_filters_are_band_pass_with_their_band_edges(trained):
    torch.manual_seed(0)
    sinc = SincConv(out_channels=8, kernel_size=401, sample_rate=SR)
    if trained:  # move the cut-offs as training would
        with torch.no_grad():
            sinc.low_hz_.add_(200 * torch.randn_like(sinc.low_hz_))
            sinc.band_hz_.add_(200 * torch.rand_like(sinc.band_hz_))
    freqs, mag = _response(sinc)
    low, high = (e.detach().double() for e in sinc.band_edges())
    margin = 4 * SR / 401  # Hamming transition width is about 3.3 sr / K
    for i in range(8):
        inside = (freqs > low[i] + margin) & (freqs < high[i] - margin)
        outside = (freqs < low[i] - margin) | (freqs > high[i] + margin)
        if inside.any():
            assert mag[i, inside].min() > 0.9 and mag[i, inside].max() < 1.1
        assert mag[i, outside].max() < 0.05


def test_initial_bands_are_mel_spaced_from_f_min_to_f_max():
    sinc = SincConv(
        out_channels=10, kernel_size=101, sample_rate=SR, min_band_hz=1.0, f_min=100.0, f_max=7000.0
    )
    low, high = (e.detach() for e in sinc.band_edges())
    assert low[0].item() == pytest.approx(100.0, abs=1e-3) and high[-1].item() == pytest.approx(
        7000.0, rel=1e-5
    )
    torch.testing.assert_close(low[1:], high[:-1])  # contiguous bands
    assert (high - low).diff().min() > 0  # wider and wider, as on the mel scale


def test_cut_offs_are_learned():
    """Fitting the output of a bank with other bands (300-5000 Hz, not 50-7950 Hz): Adam steps on
    the cut-offs alone lower the loss from the first step, and bring the band edges closer."""
    torch.manual_seed(0)
    teacher = SincConv(out_channels=4, kernel_size=51, sample_rate=SR, f_min=300.0, f_max=5000.0)
    sinc = SincConv(out_channels=4, kernel_size=51, sample_rate=SR)
    assert sum(p.numel() for p in sinc.parameters()) == 2 * 4
    x = torch.randn(4, 1, 2000)
    with torch.no_grad():
        target = teacher(x)
        goal = torch.stack(teacher.band_edges())

    def distance() -> float:  # mean distance of the band edges, Hz
        return (torch.stack(sinc.band_edges()) - goal).abs().mean().item()

    opt = torch.optim.Adam(sinc.parameters(), lr=20.0)  # Hz per step
    losses, start = [], distance()
    for _ in range(30):
        loss = (sinc(x) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # measured: loss 0.142 -> 0.137 after one step, 0.060 after 30; edges 732 Hz -> 330 Hz apart
    assert losses[1] < losses[0] and losses[-1] < 0.6 * losses[0], losses
    assert distance() < 0.6 * start, (start, distance())


def test_bad_arguments():
    with pytest.raises(ParameterError, match="odd"):
        SincConv(kernel_size=100)
    with pytest.raises(ParameterError, match="mono"):
        SincConv(in_channels=2)
    with pytest.raises(ShapeError, match="mono"):
        SincConv(kernel_size=11)(torch.randn(1, 2, 100))

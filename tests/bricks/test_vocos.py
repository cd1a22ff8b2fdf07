"""Vocos-style bricks: the STFT analysis and the inverse-STFT head are exact inverses, lengths match."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks.vocos import ConvNeXt1d, ISTFTHead, STFTAnalysis, same_padding_istft
from mir101.errors import ParameterError, ShapeError
from mir101.models import build_model


@pytest.mark.parametrize("n_fft, hop", [(1280, 320), (64, 16), (48, 16)])
def test_analysis_then_inverse_stft_gives_the_signal_back(n_fft, hop):
    torch.manual_seed(0)
    x = torch.randn(2, 1, 20 * hop)
    frames = STFTAnalysis(n_fft=n_fft, hop_length=hop, compress=1.0)(x)
    bins = n_fft // 2 + 1
    assert frames.shape == (2, 2 * bins, 20)  # exactly one frame per hop
    spectrum = torch.complex(frames[:, :bins], frames[:, bins:])
    y = same_padding_istft(spectrum, n_fft, hop, torch.hann_window(n_fft))
    torch.testing.assert_close(y, x[:, 0], atol=1e-4, rtol=1e-4)


def test_compression_keeps_the_phase_and_compresses_the_magnitude():
    x = torch.randn(1, 1, 640)
    plain, squeezed = STFTAnalysis(n_fft=64, hop_length=16, compress=1.0)(x), STFTAnalysis(n_fft=64, hop_length=16)(x)
    c_plain, c_squeezed = torch.complex(*plain.chunk(2, 1)), torch.complex(*squeezed.chunk(2, 1))
    loud = c_plain.abs() > 1e-3
    torch.testing.assert_close(c_squeezed.abs()[loud], c_plain.abs()[loud] ** 0.3, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(c_squeezed.angle()[loud], c_plain.angle()[loud], rtol=1e-3, atol=1e-3)


def test_the_head_draws_a_known_spectrum():
    """With a projection set by hand, the head outputs the inverse STFT of m * exp(i p).

    One bin (4 cycles per 64-sample frame, so that frames a hop of 16 apart are in phase) of
    log-magnitude 1 and phase 0: each frame is ``2e/64 cos(2 pi 4 n / 64)``, windowed once and
    divided by the overlap-added squared window, i.e. scaled by sum(w) / sum(w^2) = 2 / 1.5.
    """
    head = ISTFTHead(in_channels=2, n_fft=64, hop_length=16)
    with torch.no_grad():
        head.proj.weight.zero_()
        head.proj.bias.zero_()
        head.proj.bias[:33] = -30.0  # every bin silent ...
        head.proj.bias[4] = 1.0  # ... but bin 4
    y = head(torch.zeros(1, 2, 12))[0, 0]
    t = torch.arange(y.numel())
    expected = torch.e * 2 / 64 * (2 / 1.5) * torch.cos(2 * torch.pi * 4 * (t + 24) / 64)  # 24: the padding
    torch.testing.assert_close(y[32:-32], expected[32:-32], atol=1e-4, rtol=1e-3)


def test_a_codec_of_these_bricks_keeps_the_length_and_the_gradients_flow():
    model = build_model(
        {
            "input_shape": [1, 3200],
            "layers": [
                {"stftanalysis": {"n_fft": 64, "hop_length": 16}},
                {"conv1d": {"out_channels": 8, "kernel_size": 1}},
                {"convnext1d": {}},
                {"istfthead": {"n_fft": 64, "hop_length": 16}},
            ],
        }
    )
    x = torch.randn(2, 1, 3200, requires_grad=True)
    y = model(x)
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_bad_sizes_fail_in_one_message():
    with pytest.raises(ParameterError, match="even difference"):
        STFTAnalysis(n_fft=65, hop_length=16)
    with pytest.raises(ParameterError, match="n_fft"):
        ISTFTHead(in_channels=2, n_fft=8, hop_length=16)
    with pytest.raises(ParameterError, match="odd"):
        ConvNeXt1d(channels=4, kernel_size=4)
    with pytest.raises(ShapeError, match="multiple of the hop"):
        STFTAnalysis(n_fft=64, hop_length=16)(torch.zeros(1, 1, 100))

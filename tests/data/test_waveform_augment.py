"""Batch waveform augmentations: each effect does what it says, probabilities, shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mir101.data.waveform_augment import EFFECTS, WaveformAugment
from mir101.errors import ParameterError, ShapeError

SR = 16000


def only(effect: str, **kwargs) -> WaveformAugment:
    return WaveformAugment(sr=SR, p=0.0, **{f"p_{effect}": 1.0}, **kwargs)


def tone(f: float = 440.0, seconds: float = 0.5, batch: int = 3) -> torch.Tensor:
    t = torch.arange(int(seconds * SR)) / SR
    return (0.5 * torch.sin(2 * np.pi * f * t)).repeat(batch, 1)


def peak_hz(x: torch.Tensor) -> float:
    spec = torch.fft.rfft(x).abs()
    return float(torch.fft.rfftfreq(x.shape[-1], 1 / SR)[spec.argmax()])


def test_off_is_identity_and_shapes_are_kept():
    x = tone()
    assert torch.equal(WaveformAugment(sr=SR, p=0.0)(x), x)
    torch.manual_seed(0)
    y = WaveformAugment(sr=SR, p=1.0)(x[:, None])
    assert y.shape == (3, 1, x.shape[1]) and torch.isfinite(y).all() and not torch.allclose(y[:, 0], x)


def test_polarity_gain_noise():
    x = tone()
    assert torch.equal(only("polarity")(x), -x)
    torch.manual_seed(0)
    g = only("gain", gain_db=6.0)(x)
    ratio = g.abs().amax(dim=1) / x.abs().amax(dim=1)
    assert ((ratio >= 10 ** (-6 / 20) - 1e-4) & (ratio <= 10 ** (6 / 20) + 1e-4)).all()
    n = only("noise", snr_db=(10.0, 10.0))(x)
    snr = 10 * torch.log10(x.pow(2).mean(1) / (n - x).pow(2).mean(1))
    assert torch.allclose(snr, torch.full_like(snr, 10.0), atol=0.5)


def test_filtering_removes_one_side_of_the_cutoff():
    torch.manual_seed(0)
    x = tone(200) + tone(3000)
    y = only("filtering", cutoff_hz=(1000.0, 1000.0))(x)
    spec_x, spec_y = torch.fft.rfft(x).abs(), torch.fft.rfft(y).abs()
    f = torch.fft.rfftfreq(x.shape[1], 1 / SR)
    low, high = int((f - 200).abs().argmin()), int((f - 3000).abs().argmin())
    kept = spec_y[:, [low, high]] / spec_x[:, [low, high]]
    # each example is a low-pass (keeps 200 Hz) or a high-pass (keeps 3000 Hz): one ratio near 1,
    # the other far below (order 2 at 1 kHz: 3000 Hz at 1/sqrt(1 + 81))
    assert ((kept.max(dim=1).values > 0.9) & (kept.min(dim=1).values < 0.2)).all()


def test_pitch_shift_moves_the_peak_within_the_range():
    torch.manual_seed(0)
    y = only("pitch_shift", semitones=2.0)(tone(440, batch=6))
    peaks = [peak_hz(row) for row in y]
    assert all(440 * 2 ** (-2 / 12) - 5 <= p <= 440 * 2 ** (2 / 12) + 5 for p in peaks)
    assert max(abs(p - 440) for p in peaks) > 5


def test_reverb_adds_a_tail_and_keeps_the_level():
    x = torch.zeros(2, SR // 2)
    x[:, 100] = 1.0  # a click
    torch.manual_seed(0)
    y = only("reverb", reverb_s=(0.3, 0.3))(x)
    assert y.abs().amax(dim=1).allclose(torch.ones(2))
    assert (y[:, 200:].abs().sum(dim=1) > 0.5).all()  # energy after the click


def test_time_mask_zeroes_one_segment():
    torch.manual_seed(0)
    x = torch.ones(4, 1000)
    y = only("time_mask", mask_fraction=0.3)(x)
    zeros = (y == 0).sum(dim=1)
    assert (zeros <= 300).all() and (zeros > 0).any()


def test_probability_is_per_example():
    torch.manual_seed(0)
    x = torch.ones(400, 10)
    flipped = (WaveformAugment(sr=SR, p=0.0, p_polarity=0.5)(x)[:, 0] < 0).float().mean().item()
    assert 0.4 < flipped < 0.6


def test_bad_arguments():
    with pytest.raises(ParameterError, match="p_gain"):
        WaveformAugment(p_gain=1.5)
    with pytest.raises(ParameterError, match="cutoff_hz"):
        WaveformAugment(sr=8000, cutoff_hz=(100.0, 5000.0))
    with pytest.raises(ShapeError):
        WaveformAugment()(torch.zeros(2, 2, 10))
    assert set(EFFECTS) == {
        f.removeprefix("p_") for f in WaveformAugment().get_config() if f.startswith("p_")
    }

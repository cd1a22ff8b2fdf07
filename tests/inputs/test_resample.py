"""Band-limited resampling and the CQT's half-band decimation."""

import numpy as np
import pytest
import torch

from mir101.errors import ParameterError
from mir101.inputs.resample import decimate2, halfband_kernel, resample
from signals import sine


@pytest.mark.parametrize("orig, target", [(44100, 22050), (48000, 22050), (16000, 22050), (22050, 16000)])
def test_sinusoids_survive_resampling(orig, target):
    """Two sinusoids below both Nyquist frequencies: error < 1e-5 away from the edges (measured 2e-6)."""

    def signal(sr: int, n: int) -> np.ndarray:
        low = sine(1000, sr=sr, n_samples=n, dtype=np.float64)
        return low + sine(3000, sr=sr, amp=0.5, phase=1.0, n_samples=n, dtype=np.float64)

    x = torch.from_numpy(signal(orig, orig // 2))
    y = resample(x, orig, target).numpy()
    assert len(y) == int(np.ceil(orig // 2 * target / orig))
    assert np.abs(y - signal(target, len(y)))[200:-200].max() < 1e-5


def test_resample_keeps_leading_axes_and_identity():
    x = torch.randn(2, 3, 1000)
    assert resample(x, 22050, 11025).shape == (2, 3, 500)
    assert resample(x, 22050, 22050) is x
    with pytest.raises(ParameterError, match="sample rates"):
        resample(x, 22050.5, 16000)


def test_halfband_response():
    """Flat (within 1e-5) where the CQT reads, -100 dB where aliases would come from."""
    h = halfband_kernel()
    n = np.arange(len(h)) - len(h) // 2
    f = np.linspace(0, 0.5, 2001)
    response = np.abs(np.exp(-2j * np.pi * np.outer(f, n)) @ h)
    assert np.abs(response[f <= 0.125] - 1).max() < 1e-5
    assert response[f >= 0.375].max() < 1e-5


def test_decimate2_keeps_time_alignment():
    x = torch.zeros(1, 1, 101)
    x[..., 40] = 1.0  # an impulse at an even sample lands on sample 20
    kernel = torch.as_tensor(halfband_kernel(), dtype=torch.float32)[None, None]
    y = decimate2(x, kernel)
    assert y.shape[-1] == (101 - 1 + 16) // 2 + 1 and int(y.abs().argmax()) == 20

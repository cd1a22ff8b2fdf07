"""Band-limited resampling in torch: Kaiser-windowed sinc filters, applied polyphase with ``conv1d``.

The classic design (Smith, "Digital Audio Resampling", https://ccrma.stanford.edu/~jos/resample/):
an ideal low-pass (a sinc) truncated by a Kaiser window (Kaiser 1974) whose ``beta`` trades the
width of the transition band for stop-band attenuation. :func:`decimate2` is the half-band special
case that the CQT applies once per octave (Schörkhuber & Klapuri 2010).

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mir101.errors import ParameterError

__all__ = ["sinc_lowpass", "halfband_kernel", "decimate2", "resample"]


def sinc_lowpass(cutoff: float, times: np.ndarray, half: float, beta: float) -> np.ndarray:
    """Kaiser-windowed ideal low-pass ``2c · sinc(2c t) · kaiser(t / half)`` sampled at ``times``.

    Args:
        cutoff: the cut-off ``c`` in cycles per input sample (0.5 = Nyquist).
        times: where to sample the impulse response, in input samples.
        half: half-length of the window: the response is zero for ``|t| >= half``.
        beta: the Kaiser window's shape (larger: more attenuation, wider transition band).
    """
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (times / half) ** 2, 0.0, None))) / np.i0(beta)
    return 2.0 * cutoff * np.sinc(2.0 * cutoff * times) * window


def halfband_kernel(half_width: int = 16, beta: float = 12.0) -> np.ndarray:
    """The low-pass applied before dropping every other sample, ``(2 * half_width + 1,)`` taps.

    Cut-off at half the Nyquist frequency. With the defaults (33 taps) the gain is within 3e-6 of 1
    below 1/8 of the input rate and below -110 dB above 3/8 of it, which is what the CQT needs: an
    octave is analysed at a rate whose Nyquist is at least twice the octave's highest frequency.
    """
    h = sinc_lowpass(0.25, np.arange(-half_width, half_width + 1, dtype=float), half_width + 1, beta)
    return h / h.sum()


def decimate2(x: Tensor, kernel: Tensor) -> Tensor:
    """Low-pass then keep one sample in two: ``(..., 1, n) -> (..., 1, (n - 1 + p) // 2 + 1)``.

    Output sample ``m`` is centred on input sample ``2 m`` (zero phase; the input is zero beyond its
    edges), so that frame centres keep their time. ``kernel`` is ``(1, 1, 2 p + 1)``. The output
    keeps the filter's tail (``p / 2`` samples past ``n / 2``): cutting it would lose the end of the
    signal for the octaves below, and a signal would not give the same features alone and
    zero-padded in a batch.
    """
    pad = kernel.shape[-1] // 2
    return F.conv1d(F.pad(x, (pad, 2 * pad)), kernel, stride=2)


def resample(
    x: Tensor, orig_sr: int, target_sr: int, zeros: int = 24, rolloff: float = 0.945, beta: float = 14.0
) -> Tensor:
    """Resample the last axis of ``x`` from ``orig_sr`` to ``target_sr`` (band-limited, zero phase).

    The ratio is reduced to ``up / down``; output sample ``j`` sits at input time ``j * down / up``
    and is a weighted sum of the input around it. The ``up`` distinct weight sets (one per phase)
    form one ``conv1d`` with ``up`` output channels and stride ``down``; the phases are then
    interleaved. The low-pass cuts at ``rolloff`` times the lower Nyquist frequency.

    Args:
        x: audio ``(..., samples)``.
        orig_sr, target_sr: integer sample rates.
        zeros: half-length of the filter in zero-crossings of the (lower-rate) sinc.
        rolloff: cut-off as a fraction of the lower of the two Nyquist frequencies.
        beta: Kaiser window shape.

    Returns:
        ``(..., ceil(samples * target_sr / orig_sr))``.
    """
    if int(orig_sr) != orig_sr or int(target_sr) != target_sr or orig_sr <= 0 or target_sr <= 0:
        raise ParameterError(f"sample rates must be positive integers, got {orig_sr} -> {target_sr}")
    g = math.gcd(int(orig_sr), int(target_sr))
    up, down = int(target_sr) // g, int(orig_sr) // g
    if up == down:
        return x
    cutoff = 0.5 * rolloff * min(1.0, up / down)  # cycles per input sample
    half = math.ceil(zeros / (2.0 * cutoff))  # support of the filter, in input samples
    # phase p: output j = q*up + p sits at input time q*down + p*down/up; taps at offsets -half..half
    taps = np.arange(-half, half + 1, dtype=float)
    offsets = (np.arange(up) * down / up) % 1.0
    shifts = np.floor(np.arange(up) * down / up).astype(int)
    weights = np.stack([sinc_lowpass(cutoff, taps - o, half + 1, beta) for o in offsets])
    weights /= weights.sum(axis=1, keepdims=True)  # unit gain at DC for every phase
    # weights[p, k] multiplies x[q*down + shifts[p] + k - half]; fold shifts[p] into the kernel
    width = 2 * half + 1 + int(shifts.max())
    kernel = np.zeros((up, 1, width))
    for p in range(up):
        kernel[p, 0, shifts[p] : shifts[p] + 2 * half + 1] = weights[p]
    kernel_t = torch.as_tensor(kernel, dtype=x.dtype, device=x.device)

    shape, n = x.shape[:-1], x.shape[-1]
    n_out = math.ceil(n * up / down)
    n_blocks = math.ceil(n_out / up)
    flat = x.reshape(-1, 1, n)
    right = max(0, (n_blocks - 1) * down + width - half - n)
    y = F.conv1d(F.pad(flat, (half, right)), kernel_t, stride=down)[..., :n_blocks]
    y = y.transpose(1, 2).reshape(flat.shape[0], -1)[:, :n_out]
    return y.reshape(*shape, n_out)

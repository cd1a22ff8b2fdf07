"""Random audio effects on batches of waveforms, in torch: the views of self-supervised learning.

Papers: Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of Visual
Representations" (SimCLR), ICML 2020, https://arxiv.org/abs/2002.05709 (composed random
augmentations make the positive pairs); Spijkervet & Burgoyne, "Contrastive Learning of Musical
Representations" (CLMR), ISMIR 2021, https://arxiv.org/abs/2103.09410 (the audio chain: polarity,
noise, gain, filter, delay, pitch shift, reverb).

The two views of an excerpt differ by everything the representation should *ignore*: level
(gain), polarity, background noise, the colour of the room or the microphone (filtering, reverb,
delay) and small transpositions; time masking hides part of the excerpt. Each effect is drawn per
example with its own probability, on the whole batch at once (on the GPU when the batch is
there). Libraries built on torchaudio (torch-audiomentations) do not load with this project's
torch, hence these few lines of torch.

The pitch shift resamples the excerpt (a speed change: pitch and tempo move together, the
length is cropped or zero-padded back), as CLMR's cheap variant does; a phase-vocoder shift
keeping the tempo would cost an STFT round trip per example.

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from mir101.errors import ParameterError, ShapeError

__all__ = ["WaveformAugment", "EFFECTS"]

#: the effects, in the order they are applied
EFFECTS = ("polarity", "gain", "pitch_shift", "filtering", "reverb", "noise", "time_mask")


@dataclass
class WaveformAugment:
    """A random chain of audio effects applied to a batch of waveforms.

    Args:
        sr: sample rate in Hz (filter cut-offs and reverb times are in Hz and seconds).
        p: probability of each effect, per example (``p_<effect>`` overrides it; 0 turns it off).
        gain_db: the gain is uniform in ``[-gain_db, gain_db]`` dB.
        snr_db: white noise at a signal-to-noise ratio uniform in ``[snr_db[0], snr_db[1]]`` dB.
        cutoff_hz: a low-pass or high-pass (even odds) of order 2 at a cut-off uniform on a log
            scale in ``[cutoff_hz[0], cutoff_hz[1]]`` (``None``: 300 Hz to ``min(6000, 0.4 sr)`` Hz).
        reverb_s: a synthetic room: the dry signal plus an exponentially decaying noise tail of
            reverberation time (RT60) uniform in ``[reverb_s[0], reverb_s[1]]`` seconds, with an
            echo (delay) of up to ``max_delay_s``.
        semitones: the resampling pitch shift is uniform in ``[-semitones, semitones]``.
        mask_fraction: time masking zeroes a segment of up to this fraction of the excerpt.
        p_polarity .. p_time_mask: per-effect probabilities (``None``: ``p``).

    Shape:
        ``(batch, samples)`` or ``(batch, 1, samples)`` -> the same shape.

    Examples:
        >>> aug = WaveformAugment(sr=16000, p=0.0, p_polarity=1.0)
        >>> x = torch.ones(2, 1, 8)
        >>> bool((aug(x) == -x).all())
        True
    """

    sr: int = 22050
    p: float = 0.8
    gain_db: float = 6.0
    snr_db: tuple[float, float] = (20.0, 40.0)
    cutoff_hz: tuple[float, float] | None = None
    reverb_s: tuple[float, float] = (0.1, 0.6)
    max_delay_s: float = 0.1
    semitones: float = 2.0
    mask_fraction: float = 0.2
    p_polarity: float | None = None
    p_gain: float | None = None
    p_pitch_shift: float | None = None
    p_filtering: float | None = None
    p_reverb: float | None = None
    p_noise: float | None = None
    p_time_mask: float | None = None

    def __post_init__(self) -> None:
        if self.cutoff_hz is None:
            self.cutoff_hz = (min(300.0, 0.1 * self.sr), min(6000.0, 0.4 * self.sr))
        for name in EFFECTS:
            value = self.prob(name)
            if not 0.0 <= value <= 1.0:
                raise ParameterError(f"WaveformAugment: p_{name}={value} must be a probability in [0, 1]")
        if self.sr <= 0:
            raise ParameterError(f"WaveformAugment: sr={self.sr} must be positive")
        pairs = {"snr_db": self.snr_db, "cutoff_hz": self.cutoff_hz, "reverb_s": self.reverb_s}
        for name, (lo, hi) in pairs.items():
            if lo > hi or (name != "snr_db" and lo <= 0):
                raise ParameterError(
                    f"WaveformAugment: {name}={[lo, hi]} must be an interval [low, high] of positive values"
                )
        if self.cutoff_hz[1] >= self.sr / 2:
            raise ParameterError(
                f"WaveformAugment: cutoff_hz={list(self.cutoff_hz)} must stay below sr/2={self.sr / 2}"
            )
        if min(self.gain_db, self.semitones, self.max_delay_s) < 0 or not 0 <= self.mask_fraction < 1:
            raise ParameterError(
                "WaveformAugment: gain_db, semitones and max_delay_s must be >= 0 and mask_fraction in [0, 1), "
                f"got {self.gain_db}, {self.semitones}, {self.max_delay_s}, {self.mask_fraction}"
            )

    def prob(self, effect: str) -> float:
        """The probability of ``effect`` (its own ``p_<effect>`` or ``p``)."""
        own = getattr(self, f"p_{effect}")
        return float(self.p if own is None else own)

    def get_config(self) -> dict:
        return asdict(self)

    # ------------------------------------------------------------------ the chain
    def __call__(self, x: Tensor) -> Tensor:
        if x.dim() == 3 and x.shape[1] == 1:
            return self(x[:, 0])[:, None]
        if x.dim() != 2:
            raise ShapeError(
                f"WaveformAugment takes (batch, samples) or (batch, 1, samples), got {tuple(x.shape)}"
            )
        x = x.float()
        for effect in EFFECTS:
            p = self.prob(effect)
            if p <= 0:
                continue
            chosen = torch.rand(x.shape[0], device=x.device) < p
            if chosen.any():
                y = getattr(self, effect)(x[chosen])
                x = x.clone()
                x[chosen] = y
        return x

    # ------------------------------------------------------------------ the effects, on (n, samples)
    def polarity(self, x: Tensor) -> Tensor:
        """Flip the sign."""
        return -x

    def gain(self, x: Tensor) -> Tensor:
        """Multiply by a random gain in ``[-gain_db, gain_db]`` dB."""
        db = (torch.rand(x.shape[0], 1, device=x.device) * 2 - 1) * self.gain_db
        return x * 10 ** (db / 20)

    def noise(self, x: Tensor) -> Tensor:
        """Add white noise at a random SNR (relative to each excerpt's power)."""
        lo, hi = self.snr_db
        snr = lo + torch.rand(x.shape[0], 1, device=x.device) * (hi - lo)
        power = x.pow(2).mean(dim=1, keepdim=True).clamp_min(1e-10)
        return x + torch.randn_like(x) * torch.sqrt(power / 10 ** (snr / 10))

    def filtering(self, x: Tensor) -> Tensor:
        """A low-pass or high-pass of order 2 (Butterworth magnitude) at a random cut-off, in the
        frequency domain (zero phase)."""
        n = x.shape[1]
        lo, hi = math.log(self.cutoff_hz[0]), math.log(self.cutoff_hz[1])
        fc = torch.exp(lo + torch.rand(x.shape[0], 1, device=x.device) * (hi - lo))
        f = torch.fft.rfftfreq(n, d=1.0 / self.sr).to(x.device)[None]  # (1, bins)
        ratio = (f / fc).pow(4)  # (f / fc)^(2 * order)
        low = 1 / torch.sqrt(1 + ratio)
        high = torch.sqrt(ratio / (1 + ratio))
        is_low = torch.rand(x.shape[0], 1, device=x.device) < 0.5
        h = torch.where(is_low, low, high)
        return torch.fft.irfft(torch.fft.rfft(x, dim=1) * h, n=n, dim=1)

    def reverb(self, x: Tensor) -> Tensor:
        """Convolve with a synthetic room: direct sound, an echo after a random delay, and an
        exponentially decaying noise tail (RT60: amplitude down 60 dB)."""
        b, n = x.shape
        length = max(int(self.reverb_s[1] * self.sr), 2)
        t = torch.arange(length, device=x.device)[None] / self.sr  # (1, length)
        lo, hi = self.reverb_s
        rt60 = lo + torch.rand(b, 1, device=x.device) * (hi - lo)
        tail = torch.randn(b, length, device=x.device) * torch.exp(-6.91 * t / rt60)  # ln(1000) = 6.91
        ir = 0.3 * tail / tail.norm(dim=1, keepdim=True).clamp_min(1e-8)
        ir[:, 0] = 1.0
        if self.max_delay_s > 0:
            delay = (torch.rand(b, device=x.device) * min(self.max_delay_s * self.sr, length - 1)).long()
            echo = 0.2 + 0.4 * torch.rand(b, device=x.device)
            ir[torch.arange(b), delay.clamp_min(1)] += echo
        size = n + length
        y = torch.fft.irfft(torch.fft.rfft(x, n=size) * torch.fft.rfft(ir, n=size), n=size)[:, :n]
        peak_in = x.abs().amax(dim=1, keepdim=True)
        peak_out = y.abs().amax(dim=1, keepdim=True).clamp_min(1e-8)
        return y * (peak_in / peak_out)  # the room does not change the level

    def pitch_shift(self, x: Tensor) -> Tensor:
        """Resample by ``2 ** (k / 12)``, ``k`` uniform in ``[-semitones, semitones]`` (a speed change),
        then crop or zero-pad back to the length."""
        n = x.shape[1]
        out = torch.zeros_like(x)
        steps = (torch.rand(x.shape[0]) * 2 - 1) * self.semitones
        for i, k in enumerate(steps.tolist()):
            rate = 2 ** (k / 12)  # > 1: higher and faster (fewer samples)
            m = max(int(round(n / rate)), 2)
            y = F.interpolate(x[i][None, None], size=m, mode="linear", align_corners=False)[0, 0]
            out[i, : min(n, m)] = y[:n]
        return out

    def time_mask(self, x: Tensor) -> Tensor:
        """Zero a random segment of up to ``mask_fraction`` of the excerpt."""
        b, n = x.shape
        width = (torch.rand(b, 1, device=x.device) * self.mask_fraction * n).long()
        start = (torch.rand(b, 1, device=x.device) * (n - width + 1)).long()
        idx = torch.arange(n, device=x.device)[None]
        return x.masked_fill((idx >= start) & (idx < start + width), 0.0)

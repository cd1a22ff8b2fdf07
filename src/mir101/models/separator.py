"""A mask-based separator: mixture STFT -> network -> one mask per source -> masked STFTs -> waveforms.

The network (any layer list, e.g. a U-Net) reads a compressed spectrogram of the mixture and
outputs one mask per source: a real mask on the magnitude (Jansson et al., "Singing Voice
Separation with Deep U-Net Convolutional Networks", ISMIR 2017) or a complex mask on the real and
imaginary parts (Williamson, Wang & Wang, "Complex Ratio Masking for Monaural Speech
Separation", IEEE/ACM TASLP 2016). The masked mixture STFTs go back to waveforms by the inverse
STFT, so every loss (spectrogram, waveform, SI-SDR, multi-resolution STFT) can judge the output.

Long recordings are separated in chunks with overlap-add (:meth:`MaskSeparator.separate`), in
memory bounded by the chunk, not by the recording.

Book page: ``book/separation.md``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError
from mir101.inputs.stft import ComplexSTFT

__all__ = ["MaskSeparator", "MASK_MODES", "spectral_features", "overlap_add_chunks"]

#: ``mode`` -> (input channels, output maps per source)
MASK_MODES = {"magnitude": (1, 1), "complex": (2, 2)}
ACTIVATIONS = ("sigmoid", "softmax", "relu", "linear")


def spectral_features(spec: Tensor, mode: str) -> Tensor:
    """The network's input from a complex STFT ``(batch, freq, frames)``: ``log(1 + |X|)``
    ``(batch, 1, freq, frames)`` (magnitude), or ``sign * log(1 + |.|)`` of the real and imaginary
    parts ``(batch, 2, freq, frames)`` (complex)."""
    if mode == "magnitude":
        return torch.log1p(spec.abs())[:, None]
    parts = torch.stack([spec.real, spec.imag], dim=1)
    return torch.sign(parts) * torch.log1p(parts.abs())


class MaskSeparator(nn.Module):
    """Separate ``n_sources`` sources from a mono mixture by masking its STFT.

    Args:
        network: maps ``(batch, C, max_bin, frames)`` features to ``(batch, n_sources * M, max_bin,
            frames)`` (``C, M = MASK_MODES[mode]``).
        n_sources: sources to estimate.
        n_fft, hop_length: the STFT.
        max_bin: bins the network sees (from 0 Hz; Open-Unmix's bandwidth limit); the bins above
            take the mask of the highest one. ``None``: all.
        mode: ``"magnitude"`` (a real mask scales the mixture's complex STFT, the mixture phase
            is kept) or ``"complex"`` (a complex mask also corrects the phase).
        activation: of magnitude masks: ``"sigmoid"`` (each in [0, 1]), ``"softmax"`` (over the
            sources: they sum to 1, the estimates add up to the mixture), ``"relu"``; complex
            masks are ``"linear"``.

    Shape:
        - input: ``(batch, samples)`` (or ``(batch, 1, samples)``)
        - output: ``(batch, n_sources, samples)``
    """

    def __init__(
        self,
        network: nn.Module,
        n_sources: int,
        n_fft: int = 1024,
        hop_length: int = 256,
        max_bin: int | None = None,
        mode: str = "magnitude",
        activation: str = "sigmoid",
    ):
        super().__init__()
        if mode not in MASK_MODES:
            raise ParameterError(f"mode={mode!r} must be one of {list(MASK_MODES)}")
        if activation not in ACTIVATIONS:
            raise ParameterError(f"activation={activation!r} must be one of {list(ACTIVATIONS)}")
        if mode == "complex" and activation != "linear":
            raise ParameterError(
                f"a complex mask is linear (activation='linear'), got activation={activation!r}"
            )
        self.network, self.n_sources = network, int(n_sources)
        self.stft = ComplexSTFT(n_fft, hop_length)
        self.max_bin = self.stft.n_bins if max_bin is None else int(max_bin)
        if not 1 <= self.max_bin <= self.stft.n_bins:
            raise ParameterError(f"max_bin={max_bin} must lie in [1, {self.stft.n_bins}] (n_fft={n_fft})")
        self.mode, self.activation = mode, activation

    @property
    def hop_length(self) -> int:
        return self.stft.hop_length

    def masks(self, spec: Tensor) -> Tensor:
        """Masks ``(batch, n_sources, freq, frames)`` (complex in complex mode) of a mixture STFT."""
        x = spectral_features(spec[:, : self.max_bin], self.mode)
        out = self.network(x)
        per = MASK_MODES[self.mode][1]
        b, _, f, t = out.shape
        if out.shape[1] != self.n_sources * per:
            raise ShapeError(
                f"the separator's network must output {self.n_sources * per} maps ({self.n_sources} sources x "
                f"{per}), got {tuple(out.shape)}"
            )
        out = out.reshape(b, self.n_sources, per, f, t)
        if self.mode == "complex":
            mask = torch.complex(out[:, :, 0], out[:, :, 1])
        elif self.activation == "sigmoid":
            mask = torch.sigmoid(out[:, :, 0])
        elif self.activation == "softmax":
            mask = torch.softmax(out[:, :, 0], dim=1)
        elif self.activation == "relu":
            mask = torch.relu(out[:, :, 0])
        else:
            mask = out[:, :, 0]
        missing = spec.shape[-2] - f
        if missing > 0:  # bins above max_bin: the mask of the highest bin the network saw
            mask = torch.cat([mask, mask[:, :, -1:].expand(-1, -1, missing, -1)], dim=2)
        return mask

    def separate_spec(self, spec: Tensor) -> Tensor:
        """Complex source STFTs ``(batch, n_sources, freq, frames)`` of a mixture STFT ``(batch, freq, frames)``."""
        return self.masks(spec) * spec[:, None]

    def forward(self, mix: Tensor) -> Tensor:
        if mix.dim() == 3 and mix.shape[1] == 1:
            mix = mix[:, 0]
        if mix.dim() != 2:
            raise ShapeError(
                f"MaskSeparator expects a mixture (batch, samples), got shape {tuple(mix.shape)}"
            )
        spec = self.stft(mix)
        return self.stft.inverse(self.separate_spec(spec), mix.shape[-1])

    @torch.no_grad()
    def separate(self, audio: np.ndarray, chunk: int, overlap: int, batch: int = 1) -> np.ndarray:
        """Separate a mono recording of any length ``(samples,)`` -> ``(n_sources, samples)``, in
        chunks of ``chunk`` samples overlapping by ``overlap`` (:func:`overlap_add_chunks`)."""
        device = next(self.parameters(), torch.zeros(())).device

        def run(x: np.ndarray) -> np.ndarray:
            return self(torch.as_tensor(x, dtype=torch.float32, device=device)).cpu().numpy()

        return overlap_add_chunks(run, np.asarray(audio, np.float32), self.n_sources, chunk, overlap, batch)


def overlap_add_chunks(
    run, audio: np.ndarray, n_out: int, chunk: int, overlap: int, batch: int = 1
) -> np.ndarray:
    """Apply ``run`` (``(chunks, chunk) -> (chunks, n_out, chunk)``) to a long signal chunk by chunk
    and cross-fade the overlaps (linear ramps, weights normalised to sum to one everywhere).

    Memory holds the output and ``batch`` chunks, never the whole recording's features. A signal
    no longer than ``chunk`` is run once, as it is (the result equals one-shot inference).

    Args:
        run: the separator on a batch of chunks.
        audio: ``(samples,)``.
        n_out: outputs per chunk (sources).
        chunk, overlap: chunk length and overlap in samples (``0 <= overlap < chunk``).
        batch: chunks per call of ``run``.

    Returns:
        ``(n_out, samples)`` float32.

    Examples:
        >>> x = np.arange(10.0, dtype=np.float32)
        >>> y = overlap_add_chunks(lambda c: c[:, None] * 2, x, 1, chunk=4, overlap=2)
        >>> bool(np.allclose(y[0], 2 * x))
        True
    """
    if audio.ndim != 1 or audio.shape[0] == 0:
        raise ShapeError(f"overlap-add needs mono audio (samples,), got shape {audio.shape}")
    if not (isinstance(chunk, int) and chunk > 0 and 0 <= overlap < chunk):
        raise ParameterError(f"chunk={chunk}, overlap={overlap}: need chunk > 0 and 0 <= overlap < chunk")
    n = audio.shape[0]
    if n <= chunk:
        return np.asarray(run(audio[None])[0], np.float32)
    hop = chunk - overlap
    starts = list(range(0, n - overlap, hop))
    ramp = np.ones(chunk, np.float32)
    if overlap:
        up = (np.arange(1, overlap + 1, dtype=np.float32)) / (overlap + 1)
        ramp[:overlap], ramp[-overlap:] = up, up[::-1]
    out = np.zeros((n_out, n), np.float32)
    weight = np.zeros(n, np.float32)
    for i in range(0, len(starts), batch):
        group = starts[i : i + batch]
        pieces = np.zeros((len(group), chunk), np.float32)
        for j, s in enumerate(group):
            seg = audio[s : s + chunk]
            pieces[j, : len(seg)] = seg
        result = np.asarray(run(pieces), np.float32)
        for j, s in enumerate(group):
            m = min(chunk, n - s)
            w = ramp[:m].copy()
            if s == 0 and overlap:
                w[:overlap] = 1.0  # no fade-in at the start of the recording
            out[:, s : s + m] += result[j, :, :m] * w
            weight[s : s + m] += w
    return out / np.maximum(weight, 1e-8)

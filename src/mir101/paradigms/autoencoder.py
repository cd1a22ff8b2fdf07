"""Auto-encoding: train a model to give back its input through a bottleneck, with a perceptual reconstruction loss.

Papers: the reconstruction losses of neural audio codecs: Zeghidour et al., "SoundStream", 2021,
https://arxiv.org/abs/2107.03312 (multi-scale spectral loss); Défossez et al., "High Fidelity
Neural Audio Compression" (EnCodec), 2022, https://arxiv.org/abs/2210.13438 (waveform L1 plus
mel-spectrogram L1 at several scales); Yamamoto et al., "Parallel WaveGAN", ICASSP 2020,
https://arxiv.org/abs/1910.11480 (multi-resolution STFT loss).

The model (encoder -> bottleneck -> decoder, built from YAML parts) maps audio ``x`` to a
reconstruction ``y``. A sample-wise loss alone is a poor judge of audio (a small phase shift
costs much, a missing high band little), so the reconstruction loss adds spectral distances:

``recon = l1 * |y - x| + stft * MRSTFT(y, x) + mel * |log10 mel(y) - log10 mel(x)| [+ phase * PD(y, x)]``

The last term (off by default) compares the phase *derivatives* of the two STFTs (instantaneous
frequency and group delay, :class:`~mir101.losses.phase.PhaseDerivativeLoss`): the magnitude terms
say nothing of phase, and a decoder that draws phase itself (the Vocos head) needs it to keep the
partials, and so the pitch, coherent from frame to frame.

and the bottleneck's own terms (commitment, codebook, KL), which the model returns with
``model(x, return_results=True).losses``, are added as they are (each brick weighs its own).

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mir101.bricks.bottleneck import QuantizedResult
from mir101.errors import ShapeError
from mir101.inputs import LogMel
from mir101.losses import MultiResolutionSTFTLoss, PhaseDerivativeLoss
from mir101.models import ModelOutput
from mir101.paradigms.base import System
from mir101.paradigms.batch import batch_field

__all__ = ["AutoEncoder", "ReconstructionLoss", "MelDistance", "reconstruct", "bottleneck_terms", "audio_of"]


class MelDistance(nn.Module):
    """L1 distance of log10 mel spectrograms (magnitudes floored at ``floor``), EnCodec's mel loss.

    Args:
        sr: sample rate (Hz).
        n_fft: window and FFT size; ``hop_length``: hop (samples).
        n_mels: mel bands.
        floor: magnitudes below it count as it (the log of silence stays finite).

    Shape:
        - estimate, reference: ``(batch, [1,] samples)``
        - output: ``()``; :meth:`per_item` gives ``(batch,)``

    Examples:
        >>> mel = MelDistance(sr=16000, n_fft=512, hop_length=128, n_mels=32)
        >>> x = torch.randn(2, 1, 4000)
        >>> float(mel(x, x)), bool(mel(x, 0.5 * x) > 0)
        (0.0, True)
    """

    def __init__(
        self, sr: int = 16000, n_fft: int = 1024, hop_length: int = 256, n_mels: int = 64, floor: float = 1e-5
    ):
        super().__init__()
        self.mel = LogMel(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, power=1.0, log=None)
        self.floor = floor

    def per_item(self, estimate: Tensor, reference: Tensor) -> Tensor:
        """The distance of each item, ``(batch,)``."""
        if estimate.shape != reference.shape:
            raise ShapeError(
                f"MelDistance needs estimate and reference of the same shape, got "
                f"{tuple(estimate.shape)} and {tuple(reference.shape)}"
            )
        est = torch.log10(self.mel(estimate).clamp(min=self.floor))
        ref = torch.log10(self.mel(reference).clamp(min=self.floor))
        return (est - ref).abs().flatten(1).mean(-1)

    def forward(self, estimate: Tensor, reference: Tensor) -> Tensor:
        return self.per_item(estimate, reference).mean()


class ReconstructionLoss(nn.Module):
    """Waveform L1 + multi-resolution STFT + mel distance (+ phase derivatives), weighted; a zero weight skips its term.

    Args:
        sr: sample rate of the audio (for the mel filterbank).
        l1, stft, mel: weights of the three terms.
        fft_sizes: the STFT resolutions (hop ``n / 4``, window ``n``).
        n_mels: mel bands of the mel term (window 1024, hop 256).
        phase: weight of the phase-derivative term (0: off).
        phase_fft, phase_hop: its STFT (best the decoder's own: window 1280, hop 320 for the Vocos
            codec at 16 kHz); ``phase_hop`` defaults to ``phase_fft // 4``.

    Shape:
        - estimate, reference: ``(batch, 1, samples)``
        - output of :meth:`terms`: ``{"l1", "stft", "mel", ["phase",] "recon"}`` scalars (``recon`` the
          weighted sum; a term of weight 0 is absent)

    Examples:
        >>> loss = ReconstructionLoss(sr=16000, fft_sizes=(256, 64), n_mels=32)
        >>> x = torch.randn(2, 1, 2000)
        >>> sorted(loss.terms(x, x)), float(loss(x, x))
        (['l1', 'mel', 'recon', 'stft'], 0.0)
    """

    def __init__(
        self,
        sr: int = 16000,
        l1: float = 1.0,
        stft: float = 1.0,
        mel: float = 1.0,
        fft_sizes: tuple[int, ...] = (2048, 1024, 512, 256, 128),
        n_mels: int = 64,
        phase: float = 0.0,
        phase_fft: int = 1024,
        phase_hop: int | None = None,
    ):
        super().__init__()
        self.weights = {"l1": float(l1), "stft": float(stft), "mel": float(mel), "phase": float(phase)}
        self.stft = MultiResolutionSTFTLoss(
            fft_sizes=tuple(fft_sizes),
            hop_lengths=tuple(n // 4 for n in fft_sizes),
            win_lengths=tuple(fft_sizes),
        )
        self.mel = MelDistance(sr=sr, n_mels=n_mels)
        self.phase = PhaseDerivativeLoss(n_fft=phase_fft, hop_length=phase_hop) if phase else None

    def terms(self, estimate: Tensor, reference: Tensor) -> dict[str, Tensor]:
        if estimate.shape != reference.shape:
            raise ShapeError(
                f"the model's output {tuple(estimate.shape)} must have the input's shape "
                f"{tuple(reference.shape)} to be compared with it"
            )
        out: dict[str, Tensor] = {}
        if self.weights["l1"]:
            out["l1"] = (estimate - reference).abs().mean()
        if self.weights["stft"]:
            out["stft"] = self.stft(estimate, reference)
        if self.weights["mel"]:
            out["mel"] = self.mel(estimate, reference)
        if self.phase is not None:
            out["phase"] = self.phase(estimate, reference)
        out["recon"] = sum(
            (self.weights[k] * v for k, v in out.items()), torch.zeros((), device=reference.device)
        )
        return out

    def forward(self, estimate: Tensor, reference: Tensor) -> Tensor:
        return self.terms(estimate, reference)["recon"]


def audio_of(batch: Any, key: str | int) -> Tensor:
    """The audio ``(batch, 1, samples)`` of a batch (a field of a tuple, dict or dataclass)."""
    x = batch_field(batch, key, position=0, name="input_key")
    return x[:, None] if x.dim() == 2 else x


def reconstruct(model: nn.Module, x: Tensor) -> ModelOutput:
    """``model(x, return_results=True)`` for models of the factory; other modules' output wrapped."""
    try:
        out = model(x, return_results=True)
    except TypeError:  # a plain nn.Module without the keyword
        out = model(x)
    return out if isinstance(out, ModelOutput) else ModelOutput(out)


def bottleneck_terms(out: ModelOutput) -> tuple[Tensor | None, dict[str, Tensor]]:
    """The sum of the model's auxiliary losses, and the terms to log by short name.

    ``bottleneck.net.0.commitment`` is logged as ``commitment`` (terms of the same name summed);
    the mean perplexity of the quantisers is logged as ``perplexity`` (not a loss).
    """
    terms: dict[str, Tensor] = {}
    for key, value in out.losses.items():
        name = key.rsplit(".", 1)[-1]
        terms[name] = terms[name] + value if name in terms else value
    total = sum(terms.values()) if terms else None
    perplexities = [
        r.perplexity.float().mean()
        for r in out.results.values()
        if isinstance(r, QuantizedResult) and r.perplexity is not None
    ]
    if perplexities:
        terms["perplexity"] = torch.stack(perplexities).mean().detach()
    return total, terms  # type: ignore[return-value]


class AutoEncoder(System):
    """Reconstruct the input: ``loss = recon(model(x), x) + the bottleneck's losses``.

    Args:
        model: maps audio ``(batch, 1, samples)`` to audio of the same shape (a multi-part model
            encoder -> bottleneck -> decoder; any module returning a tensor works too).
        loss: the reconstruction loss; a module with ``terms(estimate, reference)`` returning
            ``{"recon", ...}`` (default :class:`ReconstructionLoss` at 16 kHz).
        optim: the config's ``optim`` section (see :class:`~mir101.paradigms.base.System`).
        input_key: the audio's field in dict / dataclass batches (tuple batches: index 0).

    Logged terms: ``loss``, ``recon``, ``l1``, ``stft``, ``mel`` and the bottleneck's
    (``commitment``, ``codebook``, ``kl``, ``perplexity``), as ``train/<name>`` and ``val/<name>``.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module | None = None,
        optim: Mapping[str, Any] | None = None,
        input_key: str | int = "x",
    ):
        super().__init__(model, optim)
        self.loss = loss if loss is not None else ReconstructionLoss()
        self.input_key = input_key

    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        x = audio_of(batch, self.input_key)
        out = reconstruct(self.model, x)
        terms = dict(self.loss.terms(out.output, x))
        auxiliary, logged = bottleneck_terms(out)
        terms.update(logged)
        terms["loss"] = terms["recon"] + auxiliary if auxiliary is not None else terms["recon"]
        return terms

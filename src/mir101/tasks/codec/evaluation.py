"""How well a codec gives audio back, and what it spends: the metrics of the codec task.

Papers: Le Roux et al., "SDR - half-baked or well done?", ICASSP 2019,
https://arxiv.org/abs/1811.02508 (SI-SDR); Défossez et al., "High Fidelity Neural Audio
Compression" (EnCodec), 2022, https://arxiv.org/abs/2210.13438 (mel distance, bitrate, codebook
usage).

Per item, each a mean over the evaluated items:

- ``mel_distance``: L1 of log10 mel spectrograms (the task's primary metric; lower is better; 0
  for a perfect copy), the paradigm's :class:`~mir101.paradigms.autoencoder.MelDistance`;
- ``stft_distance``: the multi-resolution STFT distance (spectral convergence + log magnitude);
- ``si_sdr``: scale-invariant SDR in dB (higher is better; a waveform measure that punishes
  phase changes the ear ignores, so GAN codecs score lower on it than they sound);

- ``pitch_kept`` (test set, when PESTO is installed): the share of a subset of notes whose decoded
  pitch (PESTO, a tracker mir101 did not train, median over confident frames) lies within 50
  cents of the note's pitch; ``pitch_of_originals`` the same on the originals (the tracker's own
  ceiling). Mel and STFT distances can be low while the pitch is gone (a decoder drawing the right
  envelope with incoherent phase): this says whether the note is still the note;

and per set: ``kbps`` (frames/s x bits per frame), ``codebook_usage`` (fraction of the codes used
at least once, averaged over codebooks) and ``perplexity`` (``exp(entropy)`` of the code
histogram, averaged over codebooks).

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from mir101.losses import MultiResolutionSTFTLoss, si_sdr
from mir101.paradigms.autoencoder import MelDistance
from mir101.tasks.codec.engine import NeuralCodec

__all__ = [
    "SetScores",
    "Distances",
    "score_items",
    "score_pairs",
    "pitch_scores",
    "pitch_subset",
    "codebook_statistics",
    "EVAL_FFT_SIZES",
]

#: the STFT resolutions of ``stft_distance`` (hop n/4, window n)
EVAL_FFT_SIZES = (2048, 1024, 512, 256, 128)


@dataclass
class SetScores:
    """The scores of one evaluation set, with what the report draws."""

    metrics: dict[str, float]
    reconstructions: dict[int, np.ndarray] = field(default_factory=dict)  # item index -> decoded
    latents: np.ndarray | None = None  # (items, latent_dim): each item's latent averaged over time


def codebook_statistics(codes: np.ndarray, codebook_size: int) -> dict[str, float]:
    """Usage and perplexity of tokens ``(items, codebooks, frames)``, averaged over codebooks.

    Examples:
        >>> codebook_statistics(np.array([[[0, 1, 0, 1]]]), codebook_size=4)
        {'codebook_usage': 0.5, 'perplexity': 2.0}
    """
    usage, perplexity = [], []
    for q in range(codes.shape[1]):
        counts = np.bincount(codes[:, q].ravel(), minlength=codebook_size).astype(float)
        p = counts[counts > 0] / counts.sum()
        usage.append(float((counts > 0).mean()))
        perplexity.append(float(np.exp(-(p * np.log(p)).sum())))
    return {"codebook_usage": float(np.mean(usage)), "perplexity": float(np.mean(perplexity))}


class Distances:
    """The per-item distances of a decoded signal to its original: mel, multi-resolution STFT, SI-SDR.

    Args:
        sr: the sample rate of both.

    Examples:
        >>> d = Distances(16000)
        >>> x = torch.randn(2, 1, 4000)
        >>> {k: [round(v, 3) for v in vals] for k, vals in d(x, x).items() if k != "si_sdr"}
        {'mel_distance': [0.0, 0.0], 'stft_distance': [0.0, 0.0]}
    """

    def __init__(self, sr: int):
        self.mel = MelDistance(sr=sr)
        self.stft = MultiResolutionSTFTLoss(
            fft_sizes=EVAL_FFT_SIZES,
            hop_lengths=tuple(n // 4 for n in EVAL_FFT_SIZES),
            win_lengths=EVAL_FFT_SIZES,
        )

    @torch.no_grad()
    def __call__(self, decoded: torch.Tensor, original: torch.Tensor) -> dict[str, list[float]]:
        """``(items, 1, samples)`` each -> metric name -> one value per item."""
        return {
            "mel_distance": self.mel.per_item(decoded, original).tolist(),
            "stft_distance": [
                float(self.stft(decoded[j : j + 1], original[j : j + 1])) for j in range(len(original))
            ],
            "si_sdr": si_sdr(decoded[:, 0], original[:, 0]).tolist(),
        }


def score_pairs(originals: Sequence[np.ndarray], decoded: Sequence[np.ndarray], sr: int) -> dict[str, float]:
    """Mean distances of decoded signals to their originals (any codec: Opus, mu-law...); each
    decoded signal is cut or zero-padded to its original's length."""
    distances = Distances(sr)
    per_item: dict[str, list[float]] = {"mel_distance": [], "stft_distance": [], "si_sdr": []}
    for x, y in zip(originals, decoded):
        y = np.pad(y[: len(x)], (0, max(len(x) - len(y), 0)))
        for k, v in distances(
            torch.as_tensor(y, dtype=torch.float32)[None, None],
            torch.as_tensor(x, dtype=torch.float32)[None, None],
        ).items():
            per_item[k] += v
    return {**{k: float(np.mean(v)) for k, v in per_item.items()}, "items": len(originals)}


def score_items(
    codec: NeuralCodec,
    items: Sequence[np.ndarray],
    n_quantizers: int | None = None,
    batch_size: int = 16,
    keep: int = 0,
) -> SetScores:
    """Reconstruct every item (mono float32 at ``codec.sr``) and score it.

    Items of equal length are batched. ``keep`` reconstructions, of items spread evenly over the
    list (other instruments and pitches), are kept for the report.
    """
    distances = Distances(codec.sr)
    per_item: dict[str, list[float]] = {"mel_distance": [], "stft_distance": [], "si_sdr": []}
    codes: list[np.ndarray] = []
    latents: dict[int, np.ndarray] = {}
    order = sorted(range(len(items)), key=lambda i: len(items[i]))
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        lengths = {len(items[i]) for i in chunk}
        groups = [[i for i in chunk if len(items[i]) == n] for n in sorted(lengths)]
        for group in groups:
            x = torch.as_tensor(np.stack([items[i] for i in group]).astype(np.float32))[:, None]
            y, result = codec.reconstruct(x, n_quantizers)
            for k, v in distances(y, x).items():
                per_item[k] += v
            if result.codes is not None:
                c = (
                    result.codes if result.codes.dim() > 2 else result.codes[:, None]
                )  # (items, codebooks, frames)
                codes.append(c.numpy())
            for j, i in enumerate(group):
                out[i] = y[j, 0].numpy()
                if result.latent is not None:
                    latents[i] = result.latent[j].flatten(1).mean(-1).numpy()
    metrics = {name: float(np.mean(values)) for name, values in per_item.items()}
    metrics["kbps"] = codec.kbps(n_quantizers)
    if codes:
        metrics.update(codebook_statistics(np.concatenate(codes), codec.codebook_size))
    metrics["items"] = len(items)
    kept = (
        {int(i): out[int(i)] for i in np.unique(np.linspace(0, len(items) - 1, keep).round())} if keep else {}
    )
    stacked = np.stack([latents[i] for i in range(len(items))]) if latents else None
    return SetScores(metrics, kept, stacked)


def pitch_subset(n_items: int, n_notes: int) -> np.ndarray:
    """Indices of ``n_notes`` items spread evenly over a list of ``n_items`` (other instruments and
    pitches): the notes whose pitch is tracked, the same for every codec of a comparison."""
    return np.unique(np.linspace(0, n_items - 1, min(n_notes, n_items)).round().astype(int))


def pitch_scores(
    codec: NeuralCodec, items: Sequence[np.ndarray], pitches: Sequence[float], n_notes: int = 32
) -> dict[str, float]:
    """Whether the codec keeps the pitch: the notes of :func:`pitch_subset` are reconstructed and
    tracked by PESTO; their nominal MIDI pitches are the targets (Riou et al., ISMIR 2023,
    https://arxiv.org/abs/2309.02265).

    Returns:
        ``{"pitch_kept": share of decoded notes within 50 cents, "pitch_of_originals": the same
        for the originals, "pitch_notes": notes tracked}``.
    """
    from mir101.metrics.pitch import note_pitches, pitch_accuracy

    if len(items) != len(pitches):
        raise ValueError(f"{len(items)} items but {len(pitches)} pitches")
    chosen = pitch_subset(len(items), n_notes)
    originals = [np.asarray(items[i], np.float32) for i in chosen]
    with torch.no_grad():
        decoded = [codec.reconstruct(torch.as_tensor(x)[None, None])[0][0, 0].numpy() for x in originals]
    target = np.asarray([float(pitches[i]) for i in chosen])
    return {
        "pitch_kept": pitch_accuracy(note_pitches(decoded, codec.sr), target),
        "pitch_of_originals": pitch_accuracy(note_pitches(originals, codec.sr), target),
        "pitch_notes": len(chosen),
    }

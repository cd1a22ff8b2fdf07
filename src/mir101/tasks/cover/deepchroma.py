"""A learned "deep chroma": a multi-pitch model's salience folded onto the 12 pitch classes.

The tutorial's cover-song models read CREMA-PCP, a chroma *learned* for chord recognition, rather
than a chroma computed from the spectrum: a network that hears pitches keeps the notes and drops
the timbre, the partials and the reverberation. mir101's counterpart: the salience of a trained
multi-pitch run (:mod:`mir101.tasks.multipitch`, Bittner et al.'s deep salience), each pitch bin
added to its pitch class, averaged over ``pool`` frames (hop 512 -> 2048: the cover rows' frame
rate) and normalised per frame to a maximum of 1 like the chroma input.

``voice="top"`` keeps only the highest pitch above the peak-picking threshold in each frame: a
*dominant-melody* chroma (Doras & Peeters 2019 trained their cover embeddings on the dominant
melody). In a chorale the top voice is the hymn tune, the one thing the harmonisations of a melody
share, while the three lower voices are what differs between them.

``run: pretrained`` reads the multi-pitch model shipped inside the package
(:mod:`mir101.tasks.multipitch.pretrained`), with the threshold chosen on its validation works.

References:
    B. McFee, J. P. Bello, "Structured training for large-vocabulary chord recognition", ISMIR
    2017 (CREMA).
    R. Bittner, B. McFee, J. Salamon, P. Li, J. P. Bello, "Deep salience representations for F0
    estimation in polyphonic music", ISMIR 2017.
    F. Yesiler, J. Serrà, E. Gómez, "Accurate and Scalable Version Identification Using
    Musically-Motivated Embeddings", ICASSP 2020, https://arxiv.org/abs/1910.12551
    G. Doras, G. Peeters, "Cover detection using dominant melody embeddings", ISMIR 2019,
    https://arxiv.org/abs/1907.01824

Book page: ``book/cover.md``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mir101.errors import ConfigError
from mir101.inputs.base import InputModule, as_batch

__all__ = ["DeepChroma", "fold_to_pitch_classes", "top_voice_pitch_classes", "VOICES"]

#: what the salience is folded from: every pitch, or the highest one above the threshold
VOICES = ("all", "top")


def fold_to_pitch_classes(salience: np.ndarray, midi: np.ndarray) -> np.ndarray:
    """Sum the rows of a ``(bins, frames)`` salience into ``(12, frames)`` by pitch class (0 = C).

    Examples:
        >>> fold_to_pitch_classes(np.ones((24, 1)), np.arange(48, 72)).ravel().tolist() == [2.0] * 12
        True
    """
    pc = np.mod(np.round(np.asarray(midi)).astype(int), 12)
    out = np.zeros((12, salience.shape[1]), np.float32)
    np.add.at(out, pc, salience)
    return out


def top_voice_pitch_classes(salience: np.ndarray, midi: np.ndarray, threshold: float) -> np.ndarray:
    """One-hot ``(12, frames)`` pitch class of the highest bin of a ``(bins, frames)`` salience above
    ``threshold`` in each frame (bins ordered low to high); a frame with none stays 0.

    Examples:
        >>> sal = np.zeros((24, 2)); sal[[0, 16], 0] = 0.9   # C and E an octave up, then silence
        >>> top_voice_pitch_classes(sal, np.arange(48, 72), 0.5)[:, 0].nonzero()[0].tolist()
        [4]
        >>> float(top_voice_pitch_classes(sal, np.arange(48, 72), 0.5)[:, 1].sum())
        0.0
    """
    on = np.asarray(salience) > threshold
    frames = np.nonzero(on.any(axis=0))[0]
    top = on.shape[0] - 1 - np.argmax(on[::-1, frames], axis=0)  # the highest active bin
    out = np.zeros((12, on.shape[1]), np.float32)
    out[np.mod(np.round(np.asarray(midi)[top]).astype(int), 12), frames] = 1.0
    return out


class DeepChroma(InputModule):
    """Deep chroma from a multi-pitch run folder (see the module docstring).

    Args:
        run: a run folder of the ``multipitch`` task (``mir101 train configs/multipitch/...``), or
            ``pretrained``: the model shipped inside the package.
        pool: salience frames averaged into one output frame.
        voice: ``all`` (every pitch, weighted by its salience) or ``top`` (the highest pitch above
            ``threshold``: the dominant melody).
        threshold: the salience above which a pitch sounds (``voice="top"``); default: the run's
            own peak-picking threshold (its ``metrics.json``), else 0.5.

    Shape:
        - input: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)`` at the run's rate
        - output: ``(batch, 1, 12, frames)``, bin 0 = C, each frame's maximum 1 (silence: 0)
    """

    def __init__(self, run: str, pool: int = 4, voice: str = "all", threshold: float | None = None):
        super().__init__()
        from mir101.tasks.multipitch.pretrained import PRETRAINED_DIR
        from mir101.tasks.runner import load_run

        if voice not in VOICES:
            raise ConfigError(f"input.voice={voice!r} must be one of {list(VOICES)}")
        if threshold is not None and not 0.0 < float(threshold) < 1.0:
            raise ConfigError(f"input.threshold={threshold} must lie between 0 and 1 (exclusive)")
        if int(pool) < 1:
            raise ConfigError(f"input.pool={pool} must be >= 1")
        path = PRETRAINED_DIR if str(run) == "pretrained" else Path(run)
        if not (path / "model.pt").is_file():
            raise ConfigError(f"input.run={run}: no trained run folder there (train a multipitch row first)")
        task, model = load_run(path)
        if task.name != "multipitch":
            raise ConfigError(
                f"input.run={run} holds a '{task.name}' run; deep chroma needs a multipitch one"
            )
        if threshold is None:
            threshold = _run_threshold(path)
        self.run, self.pool, self.voice, self.threshold = str(run), int(pool), voice, float(threshold)
        self.pitch = task.input  # the multi-pitch model's own input (HCQT)
        self.model = model.eval()
        self.patch_frames = int(task.cfg.data.patch_frames)
        self.channels_last = bool(task.cfg.train.channels_last)
        self.midi = np.asarray(task.grid.midi())
        self.sr, self.hop_length = int(self.pitch.sr), int(self.pitch.hop_length) * self.pool
        self.n_channels, self.n_bins = 1, 12
        self._weights = hashlib.sha256((path / "model.pt").read_bytes()).hexdigest()[:16]
        for p in self.model.parameters():
            p.requires_grad_(False)

    def frequencies(self) -> np.ndarray:
        return np.arange(12, dtype=float)

    def n_frames(self, n_samples: int) -> int:
        return -(-self.pitch.n_frames(n_samples) // self.pool)

    def get_config(self) -> dict[str, Any]:
        # the weights' hash: a retrained run gives new features (the cache is keyed by this)
        cfg = {"run": self.run, "pool": self.pool, "weights": self._weights}
        if self.voice != "all":  # the keys of the first rows' caches stay as they were
            cfg.update(voice=self.voice, threshold=self.threshold)
        return cfg

    def forward(self, x: Tensor) -> Tensor:
        from mir101.tasks.multipitch.decoding import salience_map

        x = as_batch(x, "DeepChroma", torch.float32, torch.device("cpu"))
        out = []
        with torch.no_grad():
            feats = self.pitch(x).cpu().numpy()  # (batch, harmonics, bins, frames)
        for f in feats:
            sal = salience_map(self.model, f, self.patch_frames, channels_last=self.channels_last)
            if self.voice == "top":
                pcs = top_voice_pitch_classes(sal, self.midi, self.threshold)
            else:
                pcs = fold_to_pitch_classes(sal, self.midi)
            n = -(-pcs.shape[1] // self.pool) * self.pool
            pcs = np.pad(pcs, ((0, 0), (0, n - pcs.shape[1]))).reshape(12, -1, self.pool).mean(axis=2)
            peak = pcs.max(axis=0, keepdims=True)
            out.append(pcs / np.where(peak > 1e-6, peak, 1.0))
        return torch.from_numpy(np.stack(out))[:, None]


def _run_threshold(path: Path) -> float:
    """The peak-picking threshold a multipitch run chose on its validation works (0.5 without one)."""
    from mir101.errors import Mir101Error
    from mir101.tasks.result import EvalResult

    try:
        return float(EvalResult.load(path / "metrics.json").extras.get("threshold", 0.5))
    except Mir101Error:  # not evaluated yet, or an unreadable file: the usual threshold
        return 0.5

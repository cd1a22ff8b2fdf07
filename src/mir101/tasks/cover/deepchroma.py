"""A learned "deep chroma": a multi-pitch model's salience folded onto the 12 pitch classes.

The tutorial's cover-song models read CREMA-PCP, a chroma *learned* for chord recognition, rather
than a chroma computed from the spectrum: a network that hears pitches keeps the notes and drops
the timbre, the partials and the reverberation. mir101's counterpart: the salience of a trained
multi-pitch run (:mod:`mir101.tasks.multipitch`, Bittner et al.'s deep salience), each pitch bin
added to its pitch class, averaged over ``pool`` frames (hop 512 -> 2048: the cover rows' frame
rate) and normalised per frame to a maximum of 1 like the chroma input.

References:
    B. McFee, J. P. Bello, "Structured training for large-vocabulary chord recognition", ISMIR
    2017 (CREMA).
    R. Bittner, B. McFee, J. Salamon, P. Li, J. P. Bello, "Deep salience representations for F0
    estimation in polyphonic music", ISMIR 2017.
    F. Yesiler, J. Serrà, E. Gómez, "Accurate and Scalable Version Identification Using
    Musically-Motivated Embeddings", ICASSP 2020, https://arxiv.org/abs/1910.12551

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

__all__ = ["DeepChroma", "fold_to_pitch_classes"]


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


class DeepChroma(InputModule):
    """Deep chroma from a multi-pitch run folder (see the module docstring).

    Args:
        run: a run folder of the ``multipitch`` task (``mir101 train configs/multipitch/...``).
        pool: salience frames averaged into one output frame.

    Shape:
        - input: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)`` at the run's rate
        - output: ``(batch, 1, 12, frames)``, bin 0 = C, each frame's maximum 1 (silence: 0)
    """

    def __init__(self, run: str, pool: int = 4):
        super().__init__()
        from mir101.tasks.runner import load_run

        path = Path(run)
        if not (path / "model.pt").is_file():
            raise ConfigError(f"input.run={run}: no trained run folder there (train a multipitch row first)")
        task, model = load_run(path)
        if task.name != "multipitch":
            raise ConfigError(
                f"input.run={run} holds a '{task.name}' run; deep chroma needs a multipitch one"
            )
        if int(pool) < 1:
            raise ConfigError(f"input.pool={pool} must be >= 1")
        self.run, self.pool = str(run), int(pool)
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
        return {"run": self.run, "pool": self.pool, "weights": self._weights}

    def forward(self, x: Tensor) -> Tensor:
        from mir101.tasks.multipitch.decoding import salience_map

        x = as_batch(x, "DeepChroma", torch.float32, torch.device("cpu"))
        out = []
        with torch.no_grad():
            feats = self.pitch(x).cpu().numpy()  # (batch, harmonics, bins, frames)
        for f in feats:
            sal = salience_map(self.model, f, self.patch_frames, channels_last=self.channels_last)
            pcs = fold_to_pitch_classes(sal, self.midi)
            n = -(-pcs.shape[1] // self.pool) * self.pool
            pcs = np.pad(pcs, ((0, 0), (0, n - pcs.shape[1]))).reshape(12, -1, self.pool).mean(axis=2)
            peak = pcs.max(axis=0, keepdims=True)
            out.append(pcs / np.where(peak > 1e-6, peak, 1.0))
        return torch.from_numpy(np.stack(out))[:, None]

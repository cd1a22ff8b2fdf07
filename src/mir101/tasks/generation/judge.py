"""What a generated note is judged by: MFCC statistics, a mir101 family classifier's embeddings and probabilities, PESTO's pitch.

- **MFCC statistics** (a classic feature set, as in early audio FID-like measures): 20 MFCCs of
  librosa per frame, their mean and standard deviation over the note: 40 values per note.
- **A trained mir101 tagging run** (``task.evaluator_run``, e.g. ``configs/tagging/family_lms_conv2d.yaml``):
  the input of its last linear layer is the embedding (Frechet distance, KID), its softmax the
  family probabilities (Inception Score, and whether the requested family is heard).
- **PESTO** (:mod:`mir101.metrics.pitch`) for the pitch.

Book page: ``book/generation.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mir101.errors import ConfigError

__all__ = ["mfcc_statistics", "TaggingJudge"]


def mfcc_statistics(audio: Sequence[np.ndarray], sr: int, n_mfcc: int = 20) -> np.ndarray:
    """``(items, 2 n_mfcc)``: mean and standard deviation over time of librosa's MFCCs of each note."""
    import librosa

    rows = []
    for x in audio:
        m = librosa.feature.mfcc(
            y=np.asarray(x, np.float32), sr=sr, n_mfcc=n_mfcc, n_fft=1024, hop_length=256
        )
        rows.append(np.concatenate([m.mean(axis=1), m.std(axis=1)]))
    return np.asarray(rows, dtype=np.float64)


class TaggingJudge:
    """A trained family classifier of the tagging task, as an embedding and a classifier of notes.

    Args:
        run_dir: a tagging run folder whose label is ``family`` (single-label).

    Raises:
        ConfigError: not a tagging run, or not a family classifier.
    """

    def __init__(self, run_dir: str | Path):
        from mir101.tasks.runner import load_run

        task, model = load_run(run_dir)
        if task.name != "tagging" or getattr(task.options, "label", None) != "family":
            label = getattr(task.options, "label", None)
            raise ConfigError(
                f"task.evaluator_run={str(run_dir)!r} is a '{task.name}' run (label {label!r}); it must be a "
                "tagging run of the family label (configs/tagging/family_lms_conv2d.yaml)"
            )
        if task.options.multilabel:
            raise ConfigError(
                f"task.evaluator_run={str(run_dir)!r} is multi-label; a family classifier is single-label"
            )
        self.task, self.model = task, model.eval()
        self.classes: list[str] = list(task.classes)
        self.sr = int(task.input.sr)
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ConfigError(f"{run_dir}: the tagging model has no linear layer to read an embedding before")
        self._last = linears[-1]

    def __call__(self, audio: Sequence[np.ndarray], sr: int) -> dict[str, np.ndarray]:
        """``{"embeddings": (items, dim), "probs": (items, classes)}`` of notes at ``sr``."""
        from mir101.inputs.resample import resample

        captured: list[torch.Tensor] = []
        hook = self._last.register_forward_hook(lambda m, inputs, out: captured.append(inputs[0].detach()))
        embeddings, probs = [], []
        try:
            for x in audio:
                wave = torch.as_tensor(np.asarray(x, np.float32))
                if sr != self.sr:
                    wave = resample(wave[None], sr, self.sr)[0]
                with torch.no_grad():
                    feats = self.task.input(wave[None])[0].numpy()
                    captured.clear()
                    scores = self.task.score(self.model, feats)
                emb = torch.cat(captured).reshape(len(scores.logits), -1).mean(0).numpy()
                logits = scores.logits.mean(axis=0)
                p = np.exp(logits - logits.max())
                embeddings.append(emb)
                probs.append(p / p.sum())
        finally:
            hook.remove()
        return {"embeddings": np.asarray(embeddings, np.float64), "probs": np.asarray(probs, np.float64)}

    def describe(self) -> dict[str, Any]:
        return {"classes": self.classes, "sr": self.sr}

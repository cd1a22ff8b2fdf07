"""Pitch of a generated note by a pitch tracker mir101 did not train (PESTO), and the accuracy within 50 cents.

Paper: Riou, Lattner, Hadjeres & Peeters, "PESTO: Pitch Estimation with Self-supervised
Transposition-equivariant Objective", ISMIR 2023, https://arxiv.org/abs/2309.02265 (its weights
ship in its wheel, ``pip install --no-deps pesto-pitch``).

PESTO declares ``torchaudio`` as a dependency but uses it only to read audio files; inference
on tensors does not need it. Where torchaudio is absent (mir101 does not install it), an empty
placeholder module stands in while PESTO is imported, so that its ``import torchaudio`` passes;
reading files through PESTO would then fail, and mir101 never does.

A note's pitch is the median of PESTO's frame estimates (in MIDI) over the frames it is
confident about; a note counts as correct when it lies within 50 cents of the requested pitch
(mir_eval's tolerance for note pitch).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from mir101.errors import ConfigError
from mir101.metrics.registry import METRICS

__all__ = ["pesto_available", "note_pitches", "pitch_accuracy"]


def pesto_available() -> bool:
    """Whether PESTO (``pesto-pitch``) is installed."""
    return importlib.util.find_spec("pesto") is not None


@lru_cache(maxsize=2)
def _pesto_model(sr: int) -> Any:
    if not pesto_available():
        raise ConfigError(
            "pitch accuracy needs PESTO: pip install --no-deps pesto-pitch "
            "(or task.pitch_tracker: none to skip it)"
        )
    if importlib.util.find_spec("torchaudio") is None and "torchaudio" not in sys.modules:
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")  # PESTO reads no file here
    import pesto

    model = pesto.load_model("mir-1k_g7", step_size=10.0, sampling_rate=sr)
    return model.eval()


def note_pitches(audio: Sequence[np.ndarray], sr: int, min_confidence: float = 0.5) -> np.ndarray:
    """The MIDI pitch of each mono note ``(samples,)`` (NaN when PESTO is sure of no frame).

    Args:
        audio: notes at ``sr`` (any lengths).
        sr: their sample rate.
        min_confidence: frames below this PESTO confidence are ignored (all of them if none passes).
    """
    import torch

    model = _pesto_model(int(sr))
    out = []
    with torch.inference_mode():
        for x in audio:
            x = np.asarray(x, np.float32)
            if len(x) < sr // 50 or not np.isfinite(x).all() or np.abs(x).max() < 1e-5:
                out.append(np.nan)
                continue
            f0, conf, _, _ = model(
                torch.from_numpy(x)[None], sr=sr, convert_to_freq=False, return_activations=True
            )
            midi, conf = f0[0].numpy(), conf[0].numpy()
            keep = conf >= min_confidence
            if not keep.any():
                out.append(np.nan)
                continue
            out.append(float(np.median(midi[keep])))
    return np.asarray(out, dtype=np.float64)


@METRICS.register("pitch_accuracy")
def pitch_accuracy(estimated: Any, target: Any, cents: float = 50.0) -> float:
    """Fraction of notes whose estimated MIDI pitch is within ``cents`` of the target (NaN: wrong).

    Examples:
        >>> pitch_accuracy([60.2, 61.0, float("nan"), 64.0], [60, 60, 62, 64])
        0.5
    """
    est, ref = np.asarray(estimated, np.float64), np.asarray(target, np.float64)
    if est.shape != ref.shape or est.size == 0:
        raise ConfigError(f"pitch_accuracy needs two arrays of one shape, got {est.shape} and {ref.shape}")
    ok = np.abs(np.nan_to_num(est, nan=1e9) - ref) * 100 <= cents
    return float(ok.mean())

"""From a patch model to an item: patch logits over a whole item, their pooling, top tags.

A tagging network sees fixed-length patches (a few seconds) and outputs one vector of logits per
patch. An item (a whole chorale, a note, a user's file) gets the logits of overlapping patches
laid over its length: their probabilities over time are the *tag-o-gram*, and their pooling (mean
by default) is the item's prediction. A chord network outputs logits per frame instead:
:func:`frame_logits` averages the overlapping patches frame by frame.

Book page: ``book/tagging.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mir101.data.datasets import patch_starts
from mir101.errors import ConfigError, ShapeError
from mir101.tasks.base import device_of

__all__ = [
    "PatchScores",
    "patch_logits",
    "pool_items",
    "probabilities",
    "top_labels",
    "frame_logits",
    "filter_responses",
]

#: how patch logits become an item's logits
ITEM_POOLINGS = ("mean", "max")


@dataclass
class PatchScores:
    """The logits of the patches of one item.

    Attributes:
        logits: ``(patches, classes)``.
        starts: ``(patches,)`` first frame of each patch.
        patch_frames: frames per patch.
    """

    logits: np.ndarray
    starts: np.ndarray
    patch_frames: int

    def centers(self, hop_seconds: float) -> np.ndarray:
        """Time (s) of the middle of each patch, for frames of ``hop_seconds``."""
        return (self.starts + self.patch_frames / 2) * hop_seconds


def _patches(features: np.ndarray, starts: list[int], patch_frames: int) -> np.ndarray:
    n = features.shape[-1]
    if n < patch_frames:
        pad = [(0, 0)] * (features.ndim - 1) + [(0, patch_frames - n)]
        features = np.pad(features, pad)
    return np.stack([features[..., s : s + patch_frames] for s in starts])


@torch.no_grad()
def patch_logits(
    model: nn.Module,
    features: np.ndarray,
    patch_frames: int,
    hop_frames: int | None = None,
    batch_size: int = 32,
) -> PatchScores:
    """Logits of overlapping patches covering a whole item.

    Args:
        model: maps ``(batch, *features.shape[:-1], patch_frames)`` to ``(batch, classes)``.
        features: ``(channels, [freq,] frames)`` of the item (an item shorter than a patch is
            zero-padded, as in training).
        patch_frames: the training patch length.
        hop_frames: step between patches (default: half a patch); the last frames are covered by
            a final patch (:func:`~mir101.data.datasets.patch_starts`).

    Returns:
        the :class:`PatchScores` of the item.
    """
    model.eval()
    hop = max(int(hop_frames or patch_frames // 2), 1)
    starts = patch_starts(features.shape[-1], patch_frames, hop)
    dev = device_of(model)
    out = []
    for i in range(0, len(starts), batch_size):
        x = torch.from_numpy(_patches(features, starts[i : i + batch_size], patch_frames)).float().to(dev)
        y = model(x)
        if y.dim() != 2:
            raise ShapeError(
                f"a tagging model must output (batch, classes) per patch; it outputs {tuple(y.shape)} "
                f"for patches {tuple(x.shape)} (end the model with a pooling over time and a linear layer)"
            )
        out.append(y.float().cpu().numpy())
    return PatchScores(np.concatenate(out), np.asarray(starts), patch_frames)


def pool_items(logits: np.ndarray, how: str = "mean") -> np.ndarray:
    """An item's logits ``(classes,)`` from its patches' ``(patches, classes)``: their mean or max."""
    if how == "mean":
        return logits.mean(axis=0)
    if how == "max":
        return logits.max(axis=0)
    raise ConfigError(f"task.item_pooling={how!r} must be one of {list(ITEM_POOLINGS)}")


def probabilities(logits: np.ndarray, multilabel: bool) -> np.ndarray:
    """Softmax over the last axis (multi-class) or a sigmoid per class (multi-label).

    Examples:
        >>> probabilities(np.array([0.0, 0.0]), multilabel=False).tolist()
        [0.5, 0.5]
        >>> probabilities(np.array([0.0, 100.0]), multilabel=True).round(3).tolist()
        [0.5, 1.0]
    """
    x = np.asarray(logits, dtype=np.float64)
    if multilabel:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def top_labels(probs: np.ndarray, classes: list[str], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` most probable labels of an item, most probable first.

    Examples:
        >>> top_labels(np.array([0.1, 0.7, 0.2]), ["brass", "choir", "organ"], k=2)
        [('choir', 0.7), ('organ', 0.2)]
    """
    order = np.argsort(-np.asarray(probs), kind="stable")[:k]
    return [(classes[i], round(float(probs[i]), 4)) for i in order]


@torch.no_grad()
def frame_logits(
    model: nn.Module, features: np.ndarray, patch_frames: int, batch_size: int = 16
) -> np.ndarray:
    """Per-frame logits ``(classes, frames)`` of a whole item from a frame-level model.

    Patches of ``patch_frames`` with 50 % overlap; each frame averages the logits of the patches
    that cover it, so the model always sees the context it was trained on. Batches are padded to a
    power of two: a recurrent layer then meets few distinct shapes (oneDNN prepares its LSTM
    kernels once per shape, which can take seconds on a busy CPU).

    Args:
        model: maps ``(batch, *features.shape[:-1], patch_frames)`` to ``(batch, classes, patch_frames)``.
        features: ``(channels, [freq,] frames)``.
    """
    model.eval()
    n = features.shape[-1]
    starts = patch_starts(n, patch_frames, max(patch_frames // 2, 1))
    acc: np.ndarray | None = None
    cnt = np.zeros(max(n, patch_frames), np.float32)
    dev = device_of(model)
    for i in range(0, len(starts), batch_size):
        chunk = starts[i : i + batch_size]
        padded = chunk + [chunk[-1]] * (min(1 << (len(chunk) - 1).bit_length(), batch_size) - len(chunk))
        y = model(torch.from_numpy(_patches(features, padded, patch_frames)).float().to(dev))[: len(chunk)]
        if y.dim() != 3 or y.shape[-1] != patch_frames:
            raise ShapeError(
                f"a frame-level model must output (batch, classes, time={patch_frames}); it outputs "
                f"{tuple(y.shape)}"
            )
        y = y.float().cpu().numpy()
        if acc is None:
            acc = np.zeros((y.shape[1], max(n, patch_frames)), np.float32)
        for s, o in zip(chunk, y):
            acc[:, s : s + patch_frames] += o
            cnt[s : s + patch_frames] += 1
    assert acc is not None  # patch_starts gives at least one patch
    return (acc / np.maximum(cnt, 1))[:, :n]


@torch.no_grad()
def filter_responses(
    model: nn.Module, sr: float, n_fft: int = 1024
) -> tuple[str, np.ndarray, np.ndarray] | None:
    """Magnitude responses (dB) of the first waveform filterbank of a model, sorted by peak frequency.

    The filterbank is the first :class:`~mir101.bricks.SincConv` or the first ``Conv1d`` reading
    one channel (a learned conv-1D front-end); SampleCNN's 3-sample kernels and the TCN's dilated
    kernels are not filterbanks and give ``None``, as does a spectrogram model.

    Returns:
        ``(kind, freqs (n_fft // 2 + 1,) Hz, responses (filters, freqs) dB)`` or ``None``.
    """
    from mir101.bricks.sincnet import SincConv

    for module in model.modules():
        if isinstance(module, SincConv):
            kind, weights = "SincNet", module.filters().cpu().numpy()
            break
        if isinstance(module, nn.Conv1d) and module.in_channels == 1 and module.kernel_size[0] >= 16:
            kind, weights = "conv-1D", module.weight[:, 0, :].cpu().numpy()
            break
    else:
        return None
    n_fft = max(n_fft, weights.shape[-1])
    mag = np.abs(np.fft.rfft(weights, n=n_fft, axis=-1))
    db = 20 * np.log10(np.maximum(mag, 1e-8) / max(float(mag.max()), 1e-8))
    order = np.argsort(mag.argmax(axis=-1), kind="stable")
    return kind, np.fft.rfftfreq(n_fft, 1.0 / sr), db[order]

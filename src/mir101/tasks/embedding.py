"""Embeddings from the encoder of any trained model: patches of an item, their mean, a user's file.

Every task's network ends in what makes it that task (a linear layer to the classes, a
salience map...); what comes before is an *encoder*, a representation of the patch that other
tasks may reuse. :func:`encoder_of` takes it out of a trained model: the task's own
``encoder(model)`` when it has one (the ``ssl`` task's model *is* its encoder), else the model
minus its last layer (a layer list), or its ``encoder`` part (a model of parts).

An item's embedding is the mean of its patches' (each patch's encoder output, averaged over
time when it still has a time axis, then flattened). ``mir101 embed RUN audio... --out DIR``
writes them for a user's files (:mod:`mir101.cli.embed`).

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mir101.data.datasets import patch_starts
from mir101.errors import AudioError, ConfigError
from mir101.tasks.base import Task, device_of

__all__ = ["LayerSlice", "encoder_of", "patch_embeddings", "embed_audio"]


class LayerSlice(nn.Module):
    """The first ``stop`` layers of a :class:`~mir101.models.LayerModel`, sharing its weights.

    Args:
        model: a model built from a layer list.
        stop: the number of layers kept (negative: counted from the end, ``-1`` drops the last).
    """

    def __init__(self, model: nn.Module, stop: int = -1):
        super().__init__()
        n = len(model.steps)
        self.stop = stop if stop >= 0 else n + stop
        if not 0 < self.stop <= n:
            raise ConfigError(f"cannot keep {stop} layers of a model of {n} layers")
        self.model = model
        self.output_shape = tuple(model.steps[self.stop - 1].output_shape[1:])

    def forward(self, x: Tensor) -> Tensor:
        from mir101.bricks.results import BrickOutput
        from mir101.models.factory import run_step

        saved: dict[str, Tensor] = {}
        for step, module in list(zip(self.model.steps, self.model.net))[: self.stop]:
            y = run_step(step, module, x, saved)
            x = y.output if isinstance(y, BrickOutput) else y
        return x


def encoder_of(task: Task, model: nn.Module) -> nn.Module:
    """The encoder of a trained ``model`` of ``task`` (see the module docstring), in eval mode."""
    own = getattr(task, "encoder", None)
    if callable(own):
        return own(model).eval()
    parts = getattr(model, "parts", None)
    if isinstance(parts, dict):
        if "encoder" not in parts:
            raise ConfigError(f"this model's parts are {sorted(parts)}: none is called 'encoder'")
        return parts["encoder"].eval()
    if not hasattr(model, "steps"):
        raise ConfigError(f"cannot find the encoder of a {type(model).__name__} (not a mir101 layer model)")
    return LayerSlice(model, -1).eval()


def _flat(y: Tensor) -> Tensor:
    """``(batch, dim)`` from an encoder output: a remaining time axis (the last) is averaged."""
    if y.dim() > 2:
        y = y.float().mean(dim=-1)
    return y.flatten(1)


@torch.no_grad()
def patch_embeddings(
    encoder: nn.Module,
    features: np.ndarray,
    patch_frames: int,
    hop_frames: int | None = None,
    batch_size: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the overlapping patches of one item.

    Args:
        encoder: maps ``(batch, *features.shape[:-1], patch_frames)`` to ``(batch, ...)``.
        features: ``(channels, [freq,] frames)`` of the item (a short item is zero-padded).
        patch_frames: the training patch length; ``hop_frames``: the step (default: a patch).

    Returns:
        ``(patches, dim)`` float32 embeddings and ``(patches,)`` start frames.
    """
    encoder.eval()
    hop = max(int(hop_frames or patch_frames), 1)
    n = features.shape[-1]
    if n < patch_frames:
        features = np.pad(features, [(0, 0)] * (features.ndim - 1) + [(0, patch_frames - n)])
    starts = patch_starts(features.shape[-1], patch_frames, hop)
    dev = device_of(encoder)
    out = []
    for i in range(0, len(starts), batch_size):
        x = np.stack([features[..., s : s + patch_frames] for s in starts[i : i + batch_size]])
        out.append(_flat(encoder(torch.from_numpy(x).float().to(dev))).cpu().numpy())
    return np.concatenate(out).astype(np.float32), np.asarray(starts)


def embed_audio(task: Task, encoder: nn.Module, audio: np.ndarray, hop: float = 0.5) -> dict[str, Any]:
    """Embeddings of a mono waveform at the task input's rate.

    Returns:
        ``{"patches": (patches, dim), "times": (patches,) patch centres in s, "item": (dim,)}``.
    """
    inp = task.input
    if len(audio) < inp.hop_length:
        raise AudioError(f"{len(audio)} samples is shorter than one frame ({inp.hop_length})")
    with torch.no_grad():
        feats = inp(torch.from_numpy(np.asarray(audio, np.float32))[None])[0].numpy()
    patch = int(task.cfg.data.patch_frames)
    emb, starts = patch_embeddings(encoder, feats, patch, max(int(patch * hop), 1))
    frame_s = float(inp.hop_length) / float(inp.sr)
    return {"patches": emb, "times": (starts + patch / 2) * frame_s, "item": emb.mean(axis=0)}

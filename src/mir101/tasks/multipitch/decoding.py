"""From salience to pitches and notes: peak picking, whole-item salience, notes, MIDI.

The network outputs a salience per (pitch bin, frame); what a user consumes is a set of pitches
per frame (``mir_eval.multipitch``'s format) and notes (a MIDI file). These are the steps between,
shared by evaluation, ``predict`` and the book.

Book page: ``book/multipitch.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from mir101.data.targets import PitchGrid
from mir101.tasks.base import device_of

__all__ = ["pick_peaks", "salience_map", "frames_to_notes", "write_midi"]


def pick_peaks(salience: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean mask (freq, time) of local maxima along frequency with salience >= threshold.

    Examples:
        >>> s = np.array([[0.1], [0.8], [0.7], [0.2], [0.6], [0.1]])
        >>> np.flatnonzero(pick_peaks(s, 0.5)[:, 0]).tolist()
        [1, 4]
    """
    s = salience
    up = np.concatenate([np.zeros_like(s[:1]), s[:-1]], axis=0)
    down = np.concatenate([s[1:], np.zeros_like(s[:1])], axis=0)
    return (s >= threshold) & (s >= up) & (s > down)



@torch.no_grad()
def salience_map(
    model: nn.Module,
    features: np.ndarray,
    patch_frames: int,
    batch_size: int = 16,
    channels_last: bool = False,
) -> np.ndarray:
    """Salience (freq, frames) in [0, 1] of a whole item, from overlapping patches.

    Patches of ``patch_frames`` (the training length) with 50 % overlap; each frame averages the
    predictions of the patches covering it, so the model always sees the context it was trained on.
    ``channels_last`` feeds channels-last batches (for a model trained with ``trainer.channels_last``).
    """
    model.eval()
    c, f, n = features.shape
    hop = max(patch_frames // 2, 1)
    starts = list(range(0, max(n - patch_frames, 0) + 1, hop))
    if starts[-1] + patch_frames < n:
        starts.append(n - patch_frames)
    padded = features if n >= patch_frames else np.pad(features, ((0, 0), (0, 0), (0, patch_frames - n)))
    acc = np.zeros((f, max(n, patch_frames)), np.float32)
    cnt = np.zeros(max(n, patch_frames), np.float32)
    dev = device_of(model)
    for i in range(0, len(starts), batch_size):
        chunk = starts[i : i + batch_size]
        x = torch.from_numpy(np.stack([padded[:, :, s : s + patch_frames] for s in chunk])).float().to(dev)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = torch.sigmoid(model(x)).reshape(len(chunk), -1, f, patch_frames)[:, 0].cpu().numpy()
        for s, o in zip(chunk, out):
            acc[:, s : s + patch_frames] += o
            cnt[s : s + patch_frames] += 1
    return (acc / np.maximum(cnt, 1))[:, :n]



def frames_to_notes(
    active: np.ndarray, times: np.ndarray, grid: PitchGrid, min_frames: int = 3
) -> list[tuple[float, float, int]]:
    """Notes ``(start s, end s, midi)`` from runs of active frames, pooled to semitones."""
    midi = np.rint(grid.midi()).astype(int)
    hop = float(times[1] - times[0]) if len(times) > 1 else 0.0
    notes = []
    for m in np.unique(midi):
        on = active[midi == m].any(axis=0).astype(np.int8)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], on, [0]])))
        for s, e in zip(edges[::2], edges[1::2]):
            if e - s >= min_frames:
                notes.append((float(times[s]), float(times[e - 1] + hop), int(m)))
    return sorted(notes)


def write_midi(notes: list[tuple[float, float, int]], path: Path, program: int = 0) -> None:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    inst.notes = [pretty_midi.Note(velocity=90, pitch=m, start=s, end=e) for s, e, m in notes]
    pm.instruments.append(inst)
    pm.write(str(path))

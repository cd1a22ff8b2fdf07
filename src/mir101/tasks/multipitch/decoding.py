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

__all__ = ["pick_peaks", "salience_map", "frames_to_notes", "write_midi", "write_midi_minimal"]


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
    """A one-track MIDI file of ``notes`` ``(start s, end s, midi)`` (pretty_midi when installed,
    else :func:`write_midi_minimal`)."""
    try:
        import pretty_midi
    except ImportError:
        write_midi_minimal(notes, path, program)
        return
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    inst.notes = [pretty_midi.Note(velocity=90, pitch=m, start=s, end=e) for s, e, m in notes]
    pm.instruments.append(inst)
    pm.write(str(path))


def _varlen(n: int) -> bytes:
    """MIDI variable-length quantity (7 bits per byte, high bit = more bytes follow).

    Examples:
        >>> _varlen(0x7F).hex(), _varlen(0x80).hex(), _varlen(0x3FFF).hex()
        ('7f', '8100', 'ff7f')
    """
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi_minimal(
    notes: list[tuple[float, float, int]], path: Path, program: int = 0, velocity: int = 90
) -> None:
    """A Standard MIDI File (format 0, 480 ticks per quarter at 120 bpm: 960 ticks per second)
    of ``notes`` ``(start s, end s, midi)``, written with no MIDI library."""
    tps = 960  # ticks per second: 480 per quarter, 500000 us per quarter
    events = []  # (tick, order, bytes): note-offs before note-ons at the same tick
    for start, end, pitch in notes:
        on, off = int(round(start * tps)), max(int(round(end * tps)), int(round(start * tps)) + 1)
        events.append((on, 1, bytes([0x90, pitch & 0x7F, velocity & 0x7F])))
        events.append((off, 0, bytes([0x80, pitch & 0x7F, 0])))
    track = bytearray(b"\x00\xff\x51\x03\x07\xa1\x20")  # tempo 500000 us per quarter
    track += b"\x00" + bytes([0xC0, program & 0x7F])
    now = 0
    for tick, _order, msg in sorted(events):
        track += _varlen(tick - now) + msg
        now = tick
    track += b"\x00\xff\x2f\x00"  # end of track
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
    header += (480).to_bytes(2, "big")
    Path(path).write_bytes(header + b"MTrk" + len(track).to_bytes(4, "big") + bytes(track))

"""Multi-pitch scores with ``mir_eval.multipitch`` over several items, frames pooled.

Reference: Poliner & Ellis, "A Discriminative Model for Polyphonic Piano Transcription", EURASIP
2007 (frame-level Precision, Recall, Accuracy); Raffel et al., "mir_eval: A Transparent
Implementation of Common MIR Metrics", ISMIR 2014.

Book page: ``book/multipitch.md``.
"""

from __future__ import annotations

import numpy as np

from mir101.metrics.registry import METRICS

__all__ = ["mir_eval_multipitch", "mir_eval_notes"]


def _freq_lists(mask: np.ndarray, bin_hz: np.ndarray) -> list[np.ndarray]:
    return [bin_hz[np.flatnonzero(mask[:, t])] for t in range(mask.shape[1])]


@METRICS.register("mir_eval_multipitch")
def mir_eval_multipitch(
    ref: list[tuple[np.ndarray, np.ndarray]], est: list[tuple[np.ndarray, np.ndarray]], bin_hz: np.ndarray
) -> dict[str, float]:
    """``mir_eval.multipitch.evaluate`` over several items, frames pooled (micro average).

    The items are laid end to end on one time axis (each starts one frame after the previous one
    ends), so every frame of every item weighs the same.

    Args:
        ref, est: per item ``(times (frames,), active (freq, frames) bool)``; same times per item.
        bin_hz: frequency of each bin, ``(freq,)``.

    Returns:
        mir_eval's scores (``Precision``, ``Recall``, ``Accuracy``, ``Substitution Error``, ...,
        and their ``Chroma ...`` variants) as floats.
    """
    import mir_eval

    times, ref_f, est_f = [], [], []
    offset = 0.0
    for (t, r), (_t2, e) in zip(ref, est):
        step = float(t[1] - t[0]) if len(t) > 1 else 0.01
        times.append(t - t[0] + offset)
        offset = times[-1][-1] + step if len(t) else offset
        ref_f += _freq_lists(r, bin_hz)
        est_f += _freq_lists(e, bin_hz)
    all_t = np.concatenate(times)
    scores = mir_eval.multipitch.evaluate(all_t, ref_f, all_t, est_f)
    return {k: float(v) for k, v in scores.items()}


@METRICS.register("mir_eval_notes")
def mir_eval_notes(
    ref: list[list[tuple[float, float, float]]],
    est: list[list[tuple[float, float, float]]],
    durations: list[float],
) -> dict[str, float]:
    """Note-level scores (``mir_eval.transcription``) over several items, notes pooled.

    What a user of a MIDI file meets: a note is found when its onset is within 50 ms of a
    reference note of the same pitch (within a quarter tone); ``Note onset-offset F`` also asks the
    offset to be within 20 % of the reference note's length (or 50 ms). The items are laid end to
    end on one time axis, so every note weighs the same.

    Args:
        ref, est: per item, notes ``(start s, end s, MIDI pitch)``.
        durations: per item, its length in seconds (the offset of the next item).

    Returns:
        ``Note onset P/R/F`` and ``Note onset-offset P/R/F``.

    Examples:
        >>> s = mir_eval_notes([[(0.0, 1.0, 60), (1.0, 2.0, 64)]], [[(0.02, 0.98, 60)]], [2.0])
        >>> round(s["Note onset F"], 3), round(s["Note onset R"], 3)
        (0.667, 0.5)
    """
    import mir_eval

    def pooled(items: list[list[tuple[float, float, float]]]) -> tuple[np.ndarray, np.ndarray]:
        intervals, pitches, offset = [], [], 0.0
        for notes, length in zip(items, durations):
            for start, end, midi in notes:
                intervals.append((start + offset, max(end, start + 1e-3) + offset))
                pitches.append(440.0 * 2 ** ((float(midi) - 69) / 12))
            offset += float(length) + 1.0  # a second of silence between items
        return np.asarray(intervals, float).reshape(-1, 2), np.asarray(pitches, float)

    (ri, rp), (ei, ep) = pooled(ref), pooled(est)
    out: dict[str, float] = {}
    for name, offset_ratio in (("Note onset", None), ("Note onset-offset", 0.2)):
        if len(ri) == 0 or len(ei) == 0:
            p = r = f = 0.0
        else:
            p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
                ri, rp, ei, ep, offset_ratio=offset_ratio
            )
        out.update({f"{name} P": float(p), f"{name} R": float(r), f"{name} F": float(f)})
    return out

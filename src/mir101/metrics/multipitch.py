"""Multi-pitch scores with ``mir_eval.multipitch`` over several items, frames pooled.

Reference: Poliner & Ellis, "A Discriminative Model for Polyphonic Piano Transcription", EURASIP
2007 (frame-level Precision, Recall, Accuracy); Raffel et al., "mir_eval: A Transparent
Implementation of Common MIR Metrics", ISMIR 2014.

Book page: ``book/multipitch.md``.
"""

from __future__ import annotations

import numpy as np

from mir101.metrics.registry import METRICS

__all__ = ["mir_eval_multipitch"]


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

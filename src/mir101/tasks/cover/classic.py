"""The classic key-invariant cover-song baseline: chroma, optimal transposition index, DTW.

Before metric learning, versions were matched by aligning chroma sequences: the optimal
transposition index (OTI) rotates one chroma to the key of the other (Serrà, Gómez, Herrera &
Serra 2008), then an alignment cost says how well the two sequences follow each other. Here the
frame-synchronous chroma is averaged into blocks of about half a second, each block L2-normalised;
OTI compares the global chroma profiles; the distance of two items is the dynamic time warping
cost (cosine distance between blocks, :func:`librosa.sequence.dtw`) divided by the lengths of
both sequences (a long pair is not penalised for being long).

References:
    J. Serrà, E. Gómez, P. Herrera, X. Serra, "Chroma binary similarity and local alignment
    applied to cover song identification", IEEE TASLP 16(6), 2008.
    M. Müller, "Fundamentals of Music Processing", Springer 2015, section 7.2 (audio matching).

Book page: ``book/cover.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mir101.errors import ParameterError, ShapeError

__all__ = ["block_chroma", "optimal_transposition", "dtw_distance", "classic_distances"]


def block_chroma(chroma: np.ndarray, block: int) -> np.ndarray:
    """Average ``block`` consecutive frames of a ``(12, frames)`` chroma and L2-normalise each block.

    Returns:
        ``(12, ceil(frames / block))`` float64.
    """
    c = np.asarray(chroma, dtype=np.float64)
    if c.ndim == 3:  # (1, 12, frames) from an input
        c = c[0]
    if c.ndim != 2 or c.shape[0] != 12:
        raise ShapeError(f"the classic baseline needs a chroma (12, frames), got {c.shape}")
    if block < 1:
        raise ParameterError(f"block={block} must be >= 1 frame")
    n = int(np.ceil(c.shape[1] / block)) * block
    c = np.pad(c, ((0, 0), (0, n - c.shape[1])))
    c = c.reshape(12, -1, block).mean(axis=2)
    norm = np.linalg.norm(c, axis=0, keepdims=True)
    return c / np.where(norm > 0, norm, 1.0)


def optimal_transposition(a: np.ndarray, b: np.ndarray) -> int:
    """OTI: the rotation ``k`` of ``b``'s pitch classes that best matches ``a``'s global profile.

    ``np.roll(b, k, axis=0)`` is then in ``a``'s key.

    Examples:
        >>> a = np.eye(12)[:, [0, 4, 7]]          # C, E, G
        >>> optimal_transposition(a, np.roll(a, -2, axis=0))   # the same, two semitones lower
        2
    """
    ga, gb = a.mean(axis=1), b.mean(axis=1)
    return int(np.argmax([ga @ np.roll(gb, k) for k in range(12)]))


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """DTW cost between two L2-normalised chroma sequences, after OTI, per unit of path length.

    Args:
        a, b: ``(12, n)`` and ``(12, m)`` block chroma (:func:`block_chroma`).

    Returns:
        the accumulated cosine distance of the best alignment divided by ``n + m``.
    """
    import librosa

    b = np.roll(b, optimal_transposition(a, b), axis=0)
    cost = 1.0 - a.T @ b  # (n, m) cosine distances
    acc = librosa.sequence.dtw(C=cost, backtrack=False)
    return float(acc[-1, -1] / (a.shape[1] + b.shape[1]))


def classic_distances(chromas: Sequence[np.ndarray], block: int = 4) -> np.ndarray:
    """The ``(n, n)`` baseline distance matrix of items given as chroma ``(12, frames)``.

    Every pair is aligned once (the DTW cost is symmetric); the diagonal is 0.
    """
    seqs = [block_chroma(c, block) for c in chromas]
    n = len(seqs)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d[i, j] = d[j, i] = dtw_distance(seqs[i], seqs[j])
    return d

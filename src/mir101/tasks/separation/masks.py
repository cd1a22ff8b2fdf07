"""Oracle masks (the ceiling of masking), the Wiener post-filter, and NMF with per-source templates.

- **Oracles** know the true sources and mask the mixture STFT with the best mask of a family:
  the ideal ratio mask ``|S_k|^a / sum_j |S_j|^a`` with ``a = 1`` (IRM1) or ``a = 2`` (IRM2, the
  Wiener gain of the true power spectra) and the ideal binary mask (IBM: each bin to its loudest
  source). No masking separator can beat them on the same STFT (Vincent et al., "Oracle
  estimators for the benchmarking of source separation algorithms", Signal Processing 2007).
- **Wiener post-filter**: the estimates' power spectra ``v_k = |S_k|^2`` re-distribute the
  mixture, ``S_k = v_k / sum_j v_j * X``, iterated as an EM (Nugraha, Liutkus & Vincent,
  "Multichannel audio source separation with deep neural networks", IEEE/ACM TASLP 2016; the
  ``norbert`` library). For mono signals the spatial covariance is a scalar and the
  multichannel filter reduces to this one; it is hand-written here.
- **NMF** (Lee & Seung, "Algorithms for non-negative matrix factorization", NIPS 2000; Smaragdis,
  "Supervised and semi-supervised separation of sounds from single-channel mixtures", ICA 2007):
  templates ``W_k`` learned per source on training stems (scikit-learn, KL divergence), then, for
  a mixture ``V ~ [W_1 ... W_K] H``, only the activations ``H`` are fitted; each source gets the
  soft mask ``W_k H_k / W H``.

Book page: ``book/separation.md``.
"""

from __future__ import annotations

import warnings

import numpy as np

from mir101.errors import ParameterError, ShapeError

__all__ = ["ORACLES", "oracle_masks", "wiener", "NMFSeparator"]

#: oracle name -> the exponent of the ratio mask (``None``: binary)
ORACLES = {"irm1": 1.0, "irm2": 2.0, "ibm": None}


def oracle_masks(sources: np.ndarray, kind: str, eps: float = 1e-10) -> np.ndarray:
    """Ideal masks from the true sources' STFTs ``(n_sources, freq, frames)`` (complex).

    Examples:
        >>> s = np.array([[[3.0 + 0j]], [[1.0 + 0j]]])
        >>> np.round(oracle_masks(s, "irm1")[:, 0, 0], 6).tolist(), oracle_masks(s, "ibm")[:, 0, 0].tolist()
        ([0.75, 0.25], [1.0, 0.0])
    """
    if kind not in ORACLES:
        raise ParameterError(f"oracle {kind!r} must be one of {list(ORACLES)}")
    mag = np.abs(sources)
    power = ORACLES[kind]
    if power is None:
        return (mag == mag.max(axis=0, keepdims=True)).astype(np.float64) * (
            mag.max(axis=0, keepdims=True) > 0
        )
    m = mag**power
    return m / (m.sum(axis=0, keepdims=True) + eps)


def wiener(mix: np.ndarray, estimates: np.ndarray, iterations: int = 1, eps: float = 1e-10) -> np.ndarray:
    """Wiener post-filter of complex source estimates ``(n_sources, freq, frames)`` given the
    mixture STFT ``(freq, frames)``: ``S_k = v_k / sum_j v_j * X`` with ``v_k = |S_k|^2``,
    re-estimated ``iterations`` times. The outputs add up to the mixture."""
    if estimates.shape[1:] != mix.shape:
        raise ShapeError(f"estimates {estimates.shape} do not match the mixture STFT {mix.shape}")
    if iterations < 1:
        raise ParameterError(f"iterations={iterations} must be >= 1")
    s = estimates
    for _ in range(iterations):
        v = np.abs(s) ** 2
        s = v / (v.sum(axis=0, keepdims=True) + eps) * mix[None]
    return s


class NMFSeparator:
    """Supervised NMF: ``n_components`` spectral templates per source, learned on training stems.

    Args:
        n_components: templates per source.
        max_frames: training frames drawn per source (evenly spaced, silent frames skipped).
        iterations: multiplicative updates of the activations on a mixture.
        seed: scikit-learn's ``random_state``.
    """

    def __init__(self, n_components: int = 24, max_frames: int = 6000, iterations: int = 100, seed: int = 0):
        self.n_components, self.max_frames, self.iterations, self.seed = (
            n_components,
            max_frames,
            iterations,
            seed,
        )
        self.templates: np.ndarray | None = None  # (freq, n_sources * n_components)
        self.n_sources = 0

    def fit(self, magnitudes: list[np.ndarray]) -> NMFSeparator:
        """Learn the templates from one magnitude spectrogram ``(freq, frames)`` per source (the
        training stems of that source laid end to end)."""
        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning

        ws = []
        for mag in magnitudes:
            loud = mag[:, mag.sum(axis=0) > 1e-3 * max(float(mag.sum(axis=0).max()), 1e-12)]
            if loud.shape[1] < self.n_components:
                raise ParameterError(
                    f"NMF: {loud.shape[1]} non-silent training frames for a source, fewer than n_components={self.n_components}"
                )
            step = max(1, loud.shape[1] // self.max_frames)
            nmf = NMF(self.n_components, beta_loss="kullback-leibler", solver="mu", max_iter=200,
                      init="nndsvda", random_state=self.seed)  # fmt: skip
            with warnings.catch_warnings():  # a capped number of iterations is a choice, not an accident
                warnings.simplefilter("ignore", ConvergenceWarning)
                nmf.fit(loud[:, ::step].T)  # frames are the samples: components are spectra
            w = nmf.components_.T  # (freq, n_components)
            ws.append(w / (w.sum(axis=0, keepdims=True) + 1e-12))
        self.templates, self.n_sources = np.concatenate(ws, axis=1), len(magnitudes)
        return self

    def masks(self, mix_mag: np.ndarray) -> np.ndarray:
        """Soft masks ``(n_sources, freq, frames)`` of a mixture magnitude ``(freq, frames)``:
        KL multiplicative updates of ``H`` with the templates fixed."""
        if self.templates is None:
            raise ParameterError("NMFSeparator.masks before fit")
        w, v = self.templates, mix_mag + 1e-10
        rng = np.random.default_rng(self.seed)
        h = rng.uniform(0.5, 1.5, (w.shape[1], v.shape[1])) * v.mean()
        w_sum = w.sum(axis=0)[:, None]
        for _ in range(self.iterations):
            h *= (w.T @ (v / (w @ h + 1e-10))) / (w_sum + 1e-10)
        k = self.n_components
        parts = np.stack([w[:, i * k : (i + 1) * k] @ h[i * k : (i + 1) * k] for i in range(self.n_sources)])
        return parts / (parts.sum(axis=0, keepdims=True) + 1e-10)

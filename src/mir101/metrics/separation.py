"""Source-separation scores: BSS-eval v4 (SDR / SIR / SAR / ISR, museval) and SI-SDR.

BSS-eval decomposes an estimate into the target (allowing a 512-tap distortion filter), the
interference of the other sources and artefacts (Vincent, Gribonval & Févotte, "Performance
measurement in blind audio source separation", IEEE TASLP 2006); version 4 (Stöter, Liutkus &
Ito, "The 2018 Signal Separation Evaluation Campaign", LVA/ICA 2018,
https://arxiv.org/abs/1804.06267) estimates the distortion filters once per track and scores
1-second frames; a track's score is the median over its frames, a method's score the median over
tracks (SiSEC 2018). SI-SDR: Le Roux et al., "SDR -- half-baked or well done?", ICASSP 2019.

Which implementation and why: **museval**'s ``metrics`` module, the reference code of SiSEC 2018,
gives all four scores (ISR included). Its package ``__init__`` imports ``musdb`` and, through
it, ``stempeg`` (ffmpeg) for reading MUSDB18 stems; the metrics need neither, so the module file
is loaded on its own (numpy and scipy only). ``fast-bss-eval`` (Scheibler 2021) is faster but
has no ISR and re-estimates its filters per frame when framed by hand (BSS-eval v3's way): it
disagrees with v4 by more than 0.1 dB on framed music (``tests/metrics/test_separation_metrics.py``
measures the gap on a test signal), so it is not used for the tables.

Book page: ``book/separation.md``.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from types import ModuleType

import numpy as np

from mir101.errors import MissingDependencyError, ShapeError
from mir101.metrics.registry import METRICS

__all__ = ["museval_metrics", "bss_eval", "si_sdr_db", "aggregate_tracks", "BSS_SCORES"]

#: the four BSS-eval scores, in museval's order
BSS_SCORES = ("sdr", "isr", "sir", "sar")


@lru_cache(maxsize=1)
def museval_metrics() -> ModuleType:
    """``museval.metrics`` loaded without ``museval/__init__.py`` (which needs musdb and ffmpeg).

    Raises:
        MissingDependencyError: museval is not installed (``pip install --no-deps museval``).
    """
    if "museval.metrics" in sys.modules:
        return sys.modules["museval.metrics"]
    spec = importlib.util.find_spec("museval")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "BSS-eval needs museval: pip install --no-deps museval (its metrics need numpy and scipy only)"
        )
    path = f"{list(spec.submodule_search_locations)[0]}/metrics.py"
    mspec = importlib.util.spec_from_file_location("mir101_museval_metrics", path)
    if mspec is None or mspec.loader is None:
        raise MissingDependencyError(f"cannot load museval's metrics from {path}")
    module = importlib.util.module_from_spec(mspec)
    mspec.loader.exec_module(module)
    return module


def _as_sources(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[..., None]  # mono: (sources, samples, 1)
    if x.ndim != 3:
        raise ShapeError(f"{name} must be (sources, samples) or (sources, samples, channels), got {x.shape}")
    return x


@METRICS.register("bss_eval")
def bss_eval(
    references: np.ndarray, estimates: np.ndarray, sr: int, window_s: float = 1.0
) -> dict[str, np.ndarray]:
    """BSS-eval v4 of one track, framewise (museval, ``bsseval_sources_version=False``).

    Args:
        references, estimates: ``(sources, samples)`` or ``(sources, samples, channels)``, the
            same shape (an estimate per reference, same order: no permutation is searched).
        sr: sample rate (Hz); the frames are ``window_s`` long, without overlap.

    Returns:
        ``{"sdr", "isr", "sir", "sar"}`` each ``(sources, frames)`` in dB; frames where a
        reference is silent are NaN (museval's convention), so take ``np.nanmedian``.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> s = rng.standard_normal((2, 16000))
        >>> out = bss_eval(s, s + 0.01 * rng.standard_normal((2, 16000)), sr=8000)
        >>> out["sdr"].shape, bool(np.nanmedian(out["sdr"]) > 30)
        ((2, 2), True)
    """
    ref, est = _as_sources(references, "references"), _as_sources(estimates, "estimates")
    if ref.shape != est.shape:
        raise ShapeError(f"references {ref.shape} and estimates {est.shape} must have the same shape")
    win = int(round(window_s * sr))
    sdr, isr, sir, sar, _ = museval_metrics().bss_eval(
        ref, est, window=win, hop=win, compute_permutation=False, bsseval_sources_version=False
    )
    return {"sdr": sdr, "isr": isr, "sir": sir, "sar": sar}


@METRICS.register("si_sdr_db")
def si_sdr_db(reference: np.ndarray, estimate: np.ndarray, eps: float = 1e-8) -> float:
    """Scale-invariant SDR (dB) of one mono signal: ``10 log10(|a s|^2 / |a s - e|^2)``, ``a``
    the optimal scale, both zero-mean (Le Roux et al. 2019)."""
    s = np.asarray(reference, np.float64).ravel()
    e = np.asarray(estimate, np.float64).ravel()
    s, e = s - s.mean(), e - e.mean()
    target = (e @ s) / (s @ s + eps) * s
    return float(10 * np.log10((target @ target + eps) / ((e - target) @ (e - target) + eps)))


def aggregate_tracks(per_track: list[dict[str, np.ndarray]], sources: list[str]) -> dict[str, float]:
    """SiSEC aggregation: median over each track's frames, then median over tracks, per source;
    the headline score of each metric is the mean over sources of those medians.

    Args:
        per_track: one :func:`bss_eval` result per track (``(sources, frames)`` arrays), plus an
            optional ``"si_sdr"`` ``(sources,)`` array (averaged over tracks).
        sources: the source names, in order.

    Returns:
        ``{"sdr": mean, "sdr_<source>": median, ..., "si_sdr": mean, "tracks": n}``.
    """
    out: dict[str, float] = {}
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for metric in BSS_SCORES:
                track_medians = np.array(
                    [np.nanmedian(t[metric], axis=1) for t in per_track]
                )  # (tracks, sources)
                per_source = np.nanmedian(track_medians, axis=0)
                for name, value in zip(sources, per_source):
                    out[f"{metric}_{name}"] = float(value)
                out[metric] = float(np.nanmean(per_source))
            if all("si_sdr" in t for t in per_track):
                si = np.array([t["si_sdr"] for t in per_track])
                for name, value in zip(sources, si.mean(axis=0)):
                    out[f"si_sdr_{name}"] = float(value)
                out["si_sdr"] = float(si.mean())
    out["tracks"] = float(len(per_track))
    return out

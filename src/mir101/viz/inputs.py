"""Draw any input (waveform, spectrogram, log-mel, CQT, HCQT channel, chroma) with labelled axes.

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mir101.errors import ShapeError
from mir101.inputs import CQT, Chroma, HarmonicCQT, InputModule, Waveform
from mir101.utils.pitch import hz_to_midi, note_name

if TYPE_CHECKING:
    import torch
    from matplotlib.axes import Axes

__all__ = ["plot_input"]


def plot_input(
    features: np.ndarray | torch.Tensor,
    input_module: InputModule,
    ax: Axes | None = None,
    channel: int = 0,
    title: str | None = None,
    cmap: str = "magma",
) -> Axes:
    """Draw the output of ``input_module``: time in seconds, frequency in Hz, notes or pitch classes.

    Args:
        features: the module's output for one item, ``(channels, freq, frames)`` (a leading batch
            of 1 is dropped; ``(freq, frames)`` is accepted too), or ``(1, samples)`` for a waveform.
        input_module: the module that made ``features`` (for its frame times and bin frequencies).
        ax: where to draw (default: a new figure).
        channel: which channel to draw (the harmonic index of a :class:`HarmonicCQT`).
        title: the title (default: the module's class name, and the harmonic for an HCQT).
        cmap: matplotlib colour map of the image.

    Returns:
        The matplotlib ``Axes``.

    Examples:
        >>> cqt = CQT()                                   # doctest: +SKIP
        >>> plot_input(cqt(audio)[0], cqt)                # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    x = features.detach().cpu().numpy() if hasattr(features, "detach") else np.asarray(features)
    received = tuple(x.shape)
    name = type(input_module).__name__

    if isinstance(input_module, Waveform):
        if x.size != x.shape[-1]:
            raise ShapeError(f"plot_input: a waveform must be (samples,) or (1, samples), got {received}")
        x = x.reshape(-1)
        ax = ax if ax is not None else plt.subplots(figsize=(8, 3.5))[1]
        ax.plot(input_module.frame_times(len(x)), x, linewidth=0.6)
        ax.set(xlabel="time (s)", ylabel="amplitude", title=title or name)
        ax.set_xlim(0, len(x) / input_module.sr)
        return ax

    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1] != input_module.n_bins:
        raise ShapeError(
            f"plot_input: expected ({input_module.n_channels}, {input_module.n_bins}, frames) "
            f"from {name}, got shape {received}"
        )
    if not 0 <= channel < x.shape[0]:
        raise ShapeError(f"plot_input: channel={channel} out of range for {x.shape[0]} channel(s)")
    ax = ax if ax is not None else plt.subplots(figsize=(8, 3.5))[1]
    image = x[channel]
    times = input_module.frame_times(image.shape[-1])
    step = 1.0 / input_module.frame_rate
    extent = (times[0] - step / 2, times[-1] + step / 2, -0.5, image.shape[0] - 0.5)
    ax.imshow(image, origin="lower", aspect="auto", extent=extent, interpolation="nearest", cmap=cmap)
    ax.set_xlabel("time (s)")

    freqs = input_module.frequencies()
    if isinstance(input_module, HarmonicCQT):
        freqs = input_module.harmonic_frequencies()[channel]
        name = f"{name}, harmonic {input_module.harmonics[channel]:g}"
    if isinstance(input_module, Chroma):
        ticks = np.arange(input_module.n_chroma)
        # pitch classes: the name of the note without its octave (60 = C4 -> "C"); quarter tones unnamed
        labels = [note_name(60 + p).rstrip("0123456789") if float(p).is_integer() else "" for p in freqs]
        ax.set_ylabel("pitch class")
    elif isinstance(input_module, (CQT, HarmonicCQT)):
        midi = hz_to_midi(freqs)
        cs = [m for m in range(int(np.ceil(midi[0])), int(np.floor(midi[-1])) + 1) if m % 12 == 0]
        ticks = np.interp(cs, midi, np.arange(len(midi)))
        labels = [f"{note_name(m)}\n{freqs[int(round(t))]:.0f} Hz" for m, t in zip(cs, ticks)]
        ax.set_ylabel("note")
    else:
        ticks = np.linspace(0, len(freqs) - 1, 6).round().astype(int)
        labels = [f"{freqs[t]:.0f}" for t in ticks]
        ax.set_ylabel("frequency (Hz)")
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_title(title or name)
    return ax

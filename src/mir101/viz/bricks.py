"""Look inside bricks: SincNet's learned band-pass filters, and the receptive field of a network.

Book: "Bricks" chapter (front-ends: SincNet; projections: receptive fields).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from mir101.bricks import SincConv
from mir101.models.summary import receptive_field

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from torch import nn

__all__ = ["plot_sinc_filters", "plot_receptive_field"]


def plot_sinc_filters(sinc: SincConv, n_examples: int = 4, n_fft: int = 4096) -> Figure:
    """SincNet's filterbank: each filter's band ``[low_hz, high_hz]``, and a few impulse and frequency responses.

    Args:
        sinc: a (trained or freshly initialised) :class:`~mir101.bricks.SincConv`.
        n_examples: how many filters (evenly spread over the bank) to draw in detail.
        n_fft: FFT size of the frequency responses.

    Returns:
        a figure with three panels: the bands (filters sorted by centre frequency, on a log axis),
        the impulse responses, and the magnitude responses in dB with the band edges marked.

    Examples:
        >>> fig = plot_sinc_filters(SincConv(out_channels=40, kernel_size=251, sample_rate=16000))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    with torch.no_grad():
        low, high = (e.cpu().numpy() for e in sinc.band_edges())
        h = sinc.filters().cpu().double()
        mag_db = 20 * np.log10(torch.fft.rfft(h, n=n_fft).abs().numpy() + 1e-8)
    freqs = np.fft.rfftfreq(n_fft, 1 / sinc.sample_rate)
    order = np.argsort((low + high) / 2)
    picks = order[np.linspace(0, len(order) - 1, min(n_examples, len(order))).round().astype(int)]

    fig, (ax_bands, ax_time, ax_freq) = plt.subplots(1, 3, figsize=(14, 3.8))
    ax_bands.fill_between(np.arange(len(order)), low[order], high[order], step="mid", alpha=0.6)
    ax_bands.set(yscale="log", xlabel="filter (sorted by centre)", ylabel="Hz", title="learned bands")
    t_ms = sinc.n.cpu().numpy() / sinc.sample_rate * 1000
    for i in picks:
        (line,) = ax_time.plot(t_ms, h[i].numpy(), lw=1, label=f"{low[i]:.0f}-{high[i]:.0f} Hz")
        ax_freq.plot(freqs, mag_db[i], lw=1, color=line.get_color())
        ax_freq.axvspan(low[i], high[i], color=line.get_color(), alpha=0.12)
    ax_time.set(xlabel="time (ms)", title="impulse responses")
    ax_time.legend(fontsize="small")
    ax_freq.set(xscale="log", xlim=(20, sinc.sample_rate / 2), ylim=(-80, 5), xlabel="Hz", ylabel="dB")
    ax_freq.set_title("frequency responses (bands shaded)")
    fig.tight_layout()
    return fig


def plot_receptive_field(
    module: nn.Module,
    input_shape: tuple[int, ...],
    position: tuple[int, ...] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw which input bins one output position of ``module`` depends on (its receptive field).

    Args:
        module: a brick or a model from :func:`~mir101.models.build_model`.
        input_shape: one input item's shape without the batch (``(channels, freq, time)`` or
            ``(channels, time)``).
        position: the output position (default: the centre).
        ax: where to draw (default: a new figure).
        title: the title (default: the field's extent in bins and frames).

    Returns:
        The matplotlib ``Axes``: an image ``|dy/dx|`` over (freq, time), or a curve over time.

    Examples:
        >>> model = build_model("configs/models/deep_salience_small.yaml")  # doctest: +SKIP
        >>> plot_receptive_field(model, model.input_shape)                  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    field = receptive_field(module, input_shape, position).numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    support = np.nonzero(field)
    extent = [int(s.max() - s.min() + 1) if s.size else 0 for s in support]
    if field.ndim == 1:
        ax.plot(field, lw=1)
        ax.set(xlabel="input time (frames / samples)", ylabel="|dy/dx|")
        default = f"receptive field: {extent[0]} frames"
    else:
        ax.imshow(
            field.reshape(field.shape[0], -1) > 0,
            origin="lower",
            aspect="auto",
            cmap="Greys",
            interpolation="nearest",
        )
        ax.set(xlabel="input time (frames)", ylabel="input freq (bins)")
        default = f"receptive field: {extent[0]} bins x {extent[1]} frames"
    ax.set_title(title or default)
    return ax

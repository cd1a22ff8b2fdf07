"""Brick plots draw without error and show what they claim."""

from __future__ import annotations

import matplotlib.pyplot as plt  # the Agg backend is set in tests/conftest.py

from mir101.bricks import CausalConv1d, SincConv
from mir101.models import build_model
from mir101.viz.bricks import plot_receptive_field, plot_sinc_filters


def test_plot_sinc_filters_has_three_panels_and_one_curve_per_example():
    fig = plot_sinc_filters(SincConv(out_channels=12, kernel_size=101, sample_rate=16000), n_examples=3)
    bands, impulses, responses = fig.axes
    assert len(impulses.lines) == 3 and len(responses.lines) == 3
    assert bands.get_yscale() == "log"
    plt.close(fig)


def test_plot_receptive_field_titles_the_extent():
    ax = plot_receptive_field(CausalConv1d(kernel_size=3, dilation=2), (1, 40), position=(30,))
    assert ax.get_title() == "receptive field: 5 frames"
    model = build_model(
        [{"conv2d": {"out_channels": 2, "kernel_size": [5, 3], "padding": "same"}}], (1, 20, 10)
    )
    ax = plot_receptive_field(model, model.input_shape)
    assert ax.get_title() == "receptive field: 5 bins x 3 frames"
    plt.close("all")

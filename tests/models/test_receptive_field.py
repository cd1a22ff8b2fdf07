"""Receptive fields measured by gradients match the ones computed from kernels and dilations."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mir101.bricks import TCN, CausalConv1d, WaveNet
from mir101.config import load_yaml
from mir101.models import build_model, receptive_field

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "brick",
    [
        CausalConv1d(kernel_size=3, dilation=4),
        TCN(channels=(8, 8), kernel_size=3),
        WaveNet(channels=8, n_layers=3),
    ],
    ids=["causalconv", "tcn", "wavenet"],
)
def test_measured_field_equals_the_computed_one_and_ends_at_the_present(brick):
    field = receptive_field(brick, (1, 80), position=(60,), n_items=8)
    support = field.nonzero().flatten()
    assert support.max() == 60
    assert support.max() - support.min() + 1 == brick.receptive_field


def test_deep_salience_sees_82_bins_by_15_frames():
    # kernels (freq x time): 5x5, 5x5, 3x3, 3x3, 70x3, 1x1 -> 1 + 4 + 4 + 2 + 2 + 69 bins, 1 + 4 + 4 + 2 + 2 + 2 frames
    model = build_model(load_yaml(ROOT / "configs/models/deep_salience_small.yaml"), (6, 100, 24))
    field = receptive_field(model, model.input_shape, n_items=2)
    freq, time = field.nonzero().unbind(1)
    assert (freq.max() - freq.min() + 1, time.max() - time.min() + 1) == (82, 15)


def test_pooled_outputs_see_everything_and_the_module_is_untouched():
    model = build_model([{"conv1d": {"out_channels": 2, "kernel_size": 3}}, "globalmeanpool"], (1, 30))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    field = receptive_field(model, (1, 30))
    assert (field > 0).all() and model.training
    assert all(
        torch.equal(before[k], v) and v.dtype == before[k].dtype for k, v in model.state_dict().items()
    )

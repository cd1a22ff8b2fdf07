"""Initialising a model's output at a prior (Lin et al. 2017)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mir101.models import build_model, init_output_prior


def test_a_built_model_starts_at_the_prior():
    model = build_model(
        [
            "batchnorm2d",
            {"conv2d": {"out_channels": 4, "kernel_size": 3, "padding": "same"}},
            "relu",
            {"conv2d": {"out_channels": 1, "kernel_size": 1}},
        ],
        (6, 20, 10),
    )
    nn.init.zeros_(model.net[3].weight)  # the output is then the bias alone
    init_output_prior(model, 0.02)
    after = torch.sigmoid(model(torch.randn(2, 6, 20, 10)))
    assert torch.allclose(after, torch.full_like(after, 0.02), atol=1e-6)


def test_only_the_last_layer_changes():
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    first = net[0].bias.detach().clone()
    init_output_prior(net, 0.1)
    assert torch.equal(net[0].bias, first)
    assert torch.allclose(torch.sigmoid(net[2].bias), torch.full((2,), 0.1))


@pytest.mark.parametrize("prior", [0.0, 1.0, -0.5, 2.0])
def test_a_prior_outside_zero_one_is_refused(prior):
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        init_output_prior(nn.Linear(2, 1), prior)


def test_a_model_without_a_biased_last_layer_is_refused():
    with pytest.raises(ValueError, match="with a bias"):
        init_output_prior(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1, bias=False)), 0.1)
    with pytest.raises(ValueError, match="with a bias"):
        init_output_prior(nn.Sequential(nn.ReLU()), 0.1)

"""The separation chapter's bricks and helpers: docstring examples, config rebuild, gradients, errors."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import torch

from mir101.bricks.conditioned_unet import ConditionedUNet
from mir101.bricks.umx import OpenUnmix
from mir101.errors import ParameterError, ShapeError
from mir101.inputs.stft import ComplexSTFT
from mir101.models.separator import MaskSeparator

MODULES = [
    "mir101.bricks.conditioned_unet",
    "mir101.bricks.umx",
    "mir101.inputs.stft",
    "mir101.models.separator",
    "mir101.losses.separation",
    "mir101.metrics.separation",
    "mir101.tasks.separation.masks",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"torch": torch, "np": np}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "brick, kwargs, shape",
    [
        (ConditionedUNet, dict(in_channels=2, out_channels=2, n_conditions=3, channels=(2, 4)), (2, 2, 9, 6)),
        (
            OpenUnmix,
            dict(in_channels=1, n_bins=12, out_channels=4, hidden_size=8, num_layers=1),
            (2, 1, 12, 5),
        ),
    ],
)
def test_config_rebuilds_and_gradient_reaches_the_input(brick, kwargs, shape):
    torch.manual_seed(0)
    net = brick(**kwargs)
    again = type(net)(**net.get_config())
    assert again.get_config() == net.get_config()
    x = torch.randn(*shape, requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_bad_ids_and_shapes_are_named():
    net = ConditionedUNet(in_channels=1, out_channels=1, n_conditions=2, channels=(2,))
    with pytest.raises(ParameterError, match=r"\[0, 2\)"):
        net(torch.randn(1, 1, 4, 4), torch.tensor([2]))
    with pytest.raises(ShapeError, match="one id per item"):
        net(torch.randn(2, 1, 4, 4), torch.tensor([0]))
    with pytest.raises(ParameterError, match="n_bins=12"):
        OpenUnmix(n_bins=12, hidden_size=8)(torch.randn(1, 1, 10, 3))
    with pytest.raises(ParameterError, match="hop_length"):
        ComplexSTFT(n_fft=256, hop_length=200)
    with pytest.raises(ParameterError, match="complex mask"):
        MaskSeparator(torch.nn.Identity(), 2, mode="complex", activation="sigmoid")


def test_complex_mode_with_an_identity_mask_gives_the_mixture_back():
    """A network that outputs mask 1 + 0i for every source: each estimate is the mixture."""

    class Ones(torch.nn.Module):
        def forward(self, x):
            out = torch.zeros(x.shape[0], 4, *x.shape[2:])
            out[:, 0::2] = 1.0  # real parts
            return out

    sep = MaskSeparator(Ones(), 2, n_fft=256, hop_length=64, max_bin=40, mode="complex", activation="linear")
    mix = torch.randn(1, 3000)
    assert torch.allclose(sep(mix), mix[:, None].expand(1, 2, 3000), atol=1e-5)

"""The loss registry: every name builds, errors list the valid names, BCE's float pos_weight."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch
from torch import nn

from mir101.errors import ConfigError
from mir101.losses import LOSSES, build_loss


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_builds_by_name(name):
    assert isinstance(build_loss(name), nn.Module)


def test_names_are_case_insensitive():
    assert isinstance(build_loss("BCE"), nn.BCEWithLogitsLoss)


def test_bce_pos_weight_float_becomes_tensor():
    loss = build_loss("bce", pos_weight=4.0)
    assert isinstance(loss.pos_weight, torch.Tensor) and float(loss.pos_weight) == 4.0
    # an active bin is weighted 4 times: loss of logit 0 on target 1 is 4 log 2
    value = loss(torch.zeros(1), torch.ones(1))
    assert value.item() == pytest.approx(4 * torch.log(torch.tensor(2.0)).item())


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        build_loss("tripplet")
    msg = str(err.value)
    assert "tripplet" in msg and "triplet" in msg and "si_sdr" in msg


def test_bad_argument_names_the_loss_and_allowed():
    with pytest.raises(ConfigError, match="margin"):
        build_loss("triplet", marginn=1.0)
    with pytest.raises(ConfigError, match="strategy"):
        build_loss("triplet", strategy="easy")


@pytest.mark.parametrize("module", ["sdr", "spectral", "triplet", "contrastive", "adversarial", "registry"])
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"mir101.losses.{module}")
    result = doctest.testmod(mod, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

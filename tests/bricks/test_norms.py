"""Normalisations: the NORMS registry, the channel LayerNorm, the checked GroupNorm, time-distributed BatchNorm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mir101.bricks import NORMS, ChannelNorm, ConvBlock2d, TimeDistributedBatchNorm, group_norm, make_norm
from mir101.bricks.norms import default_groups
from mir101.errors import ConfigError, ModelBuildError, ParameterError, UnknownNameError
from mir101.models import build_model


@pytest.mark.parametrize(
    "norm, cls",
    [
        ("batch", nn.BatchNorm2d),
        ("layer", ChannelNorm),
        ("instance", nn.InstanceNorm2d),
        ("group", nn.GroupNorm),
        (None, nn.Identity),
    ],
)
def test_make_norm_by_name(norm, cls):
    module = make_norm(norm, 12)
    assert type(module) is cls
    assert module(torch.randn(2, 12, 5, 4)).shape == (2, 12, 5, 4)


def test_norms_registry_lists_the_names():
    assert NORMS.names() == ["batch", "group", "instance", "layer"]


def test_unknown_norm_lists_the_choices():
    with pytest.raises(ParameterError, match="batch"):
        ConvBlock2d(norm="batchnorm")
    with pytest.raises(
        UnknownNameError, match=r"unknown norm 'batchnorm' \(did you mean 'batch'\?\); valid names"
    ):
        make_norm("batchnorm", 8)
    with pytest.raises(ConfigError):  # the same error a YAML name gets
        make_norm("batchnorm", 8)


def test_channel_norm_normalises_each_position_over_channels():
    x = 3 + 2 * torch.randn(2, 8, 5, 4)
    y = ChannelNorm(num_channels=8)(x)
    torch.testing.assert_close(y.mean(1), torch.zeros(2, 5, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(1, unbiased=False), torch.ones(2, 5, 4), atol=1e-3, rtol=0)
    ref = nn.functional.layer_norm(x.permute(0, 2, 3, 1), (8,), eps=1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "channels, groups", [(1, 1), (4, 4), (8, 8), (12, 6), (20, 5), (64, 8), (7, 7), (11, 1), (30, 6)]
)
def test_default_groups_is_the_largest_divisor_up_to_8(channels, groups):
    assert default_groups(channels) == groups
    assert group_norm(channels).num_groups == groups


def test_group_norm_on_channels_the_old_default_could_not_divide():
    """``min(8, channels)`` groups failed in torch on 12 channels; the default now divides them."""
    y = ConvBlock2d(in_channels=1, out_channels=12, norm="group")(torch.randn(2, 1, 6, 5))
    assert y.shape == (2, 12, 6, 5)


def test_group_norm_rejects_groups_that_do_not_divide_the_channels():
    with pytest.raises(
        ParameterError, match=r"num_groups=8 must divide num_channels=12.*\[1, 2, 3, 4, 6, 12\]"
    ):
        group_norm(12, num_groups=8)
    with pytest.raises(ParameterError, match="num_groups=0"):
        group_norm(12, num_groups=0)
    assert group_norm(12, num_groups=4).num_groups == 4


def test_groupnorm_layer_names_num_groups_and_num_channels():
    """The YAML ``groupnorm`` layer gets the same check, not torch's message."""
    with pytest.raises(
        ModelBuildError, match=r"layer 0 'groupnorm'.*num_groups=8 must divide num_channels=12"
    ):
        build_model([{"groupnorm": {"num_groups": 8}}], (12, 5, 5))
    model = build_model([{"groupnorm": {"num_groups": 4}}, "groupnorm"], (12, 5, 5))
    assert [m.num_groups for m in model.modules() if isinstance(m, nn.GroupNorm)] == [4, 6]


def test_time_distributed_batch_norm_normalises_features_over_batch_and_time():
    bn = TimeDistributedBatchNorm(num_features=5).train()
    y = bn(3 + 2 * torch.randn(8, 30, 5))
    torch.testing.assert_close(y.mean(dim=(0, 1)), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(dim=(0, 1), unbiased=False), torch.ones(5), atol=1e-3, rtol=0)

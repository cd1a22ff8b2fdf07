"""The MLP acts on the last axis with one linear layer per size."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mir101.bricks import MLP


@pytest.mark.parametrize("hidden", [(), (8,), (8, 8)])
def test_mlp_acts_on_the_last_axis(hidden):
    mlp = MLP(in_features=5, hidden_features=hidden, out_features=3)
    assert mlp(torch.randn(2, 7, 5)).shape == (2, 7, 3)
    assert sum(isinstance(m, nn.Linear) for m in mlp.modules()) == len(hidden) + 1

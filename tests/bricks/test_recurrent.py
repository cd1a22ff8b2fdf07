"""Recurrent layers: shapes, last step vs all steps, direction of reading."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import Recurrent
from mir101.errors import ParameterError


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequence", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_shapes(cell, bidirectional, return_sequence, num_layers):
    rnn = Recurrent(
        input_size=5,
        hidden_size=3,
        cell=cell,
        bidirectional=bidirectional,
        return_sequence=return_sequence,
        num_layers=num_layers,
    )
    y = rnn(torch.randn(2, 11, 5))
    width = 3 * (2 if bidirectional else 1)
    assert y.shape == ((2, 11, width) if return_sequence else (2, width))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_last_is_the_final_state_of_each_direction(cell):
    x = torch.randn(2, 9, 4)
    seq = Recurrent(input_size=4, hidden_size=3, cell=cell, bidirectional=True)
    last = Recurrent(input_size=4, hidden_size=3, cell=cell, bidirectional=True, return_sequence=False)
    last.load_state_dict(seq.state_dict())
    steps = seq(x)
    torch.testing.assert_close(last(x), torch.cat([steps[:, -1, :3], steps[:, 0, 3:]], dim=-1))


def test_unidirectional_does_not_see_the_future():
    rnn = Recurrent(input_size=4, hidden_size=3, cell="lstm")
    x = torch.randn(1, 10, 4)
    x2 = x.clone()
    x2[:, 6:] = torch.randn(1, 4, 4)
    torch.testing.assert_close(rnn(x)[:, :6], rnn(x2)[:, :6])


def test_unknown_cell():
    with pytest.raises(ParameterError, match="lstm"):
        Recurrent(cell="lsmt")

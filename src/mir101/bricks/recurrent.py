"""Recurrent projections over time: vanilla RNN, GRU and LSTM, uni- or bi-directional, every step or the last.

Papers:
    - Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 1997,
      https://doi.org/10.1162/neco.1997.9.8.1735
    - Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical
      Machine Translation", EMNLP 2014, https://arxiv.org/abs/1406.1078 (GRU)
    - Schuster & Paliwal, "Bidirectional Recurrent Neural Networks", IEEE TSP 1997,
      https://doi.org/10.1109/78.650093

A recurrent layer reads a sequence one frame at a time and carries a state: the output at
time ``t`` summarises frames ``0..t`` (and, bidirectional, also ``t..T-1`` read backwards). Use
every step for frame-wise labels (chords, beats) and the last step to summarise a whole patch
(tags). The layout is ``(batch, time, features)``, as for linear and attention layers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.utils.registry import Registry

__all__ = ["Recurrent", "CELLS"]

#: The recurrent cells :class:`Recurrent` accepts by name (``cell="gru"``): the torch classes.
CELLS: Registry[Callable[..., nn.RNNBase]] = Registry("cell")
CELLS.add("rnn", nn.RNN)
CELLS.add("gru", nn.GRU)
CELLS.add("lstm", nn.LSTM)


class Recurrent(Brick):
    """An RNN, GRU or LSTM over ``(batch, time, features)`` that returns every step or the last one.

    Args:
        input_size: features per frame.
        hidden_size: state size per direction.
        cell: a name of :data:`CELLS`: ``"lstm"``, ``"gru"`` or ``"rnn"`` (tanh).
        num_layers: stacked recurrent layers.
        bidirectional: also read the sequence backwards and concatenate both directions.
        return_sequence: ``True`` returns every step; ``False`` only the final state (for a
            bidirectional layer: the forward direction's last step and the backward direction's
            first step, i.e. what each direction has read in full).
        dropout: dropout between stacked layers.

    Shape:
        - input: ``(batch, time, input_size)``
        - output: ``(batch, time, directions * hidden_size)`` if ``return_sequence``, else
          ``(batch, directions * hidden_size)``

    Examples:
        >>> lstm = Recurrent(input_size=16, hidden_size=8, bidirectional=True)
        >>> lstm(torch.zeros(2, 50, 16)).shape
        torch.Size([2, 50, 16])
        >>> Recurrent(input_size=16, hidden_size=8, cell="gru", return_sequence=False)(torch.zeros(2, 50, 16)).shape
        torch.Size([2, 8])

    References:
        Hochreiter & Schmidhuber, "Long Short-Term Memory", 1997; Cho et al. 2014 (GRU),
        https://arxiv.org/abs/1406.1078
    """

    def __init__(
        self,
        *,
        input_size: int = 128,
        hidden_size: int = 128,
        cell: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        return_sequence: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.rnn = CELLS.get(cell)(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.return_sequence = return_sequence
        self.directions = 2 if bidirectional else 1

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, time, features)", "Recurrent")
        steps, state = self.rnn(x)
        if self.return_sequence:
            return steps
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM returns (h_n, c_n)
        # h_n: (num_layers * directions, batch, hidden); keep the last layer's directions
        return torch.cat(list(h_n[-self.directions :]), dim=-1)

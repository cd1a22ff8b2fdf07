"""The multi-layer perceptron: linear layers with activations in between, on the last axis.

Paper: Rumelhart, Hinton & Williams, "Learning representations by back-propagating errors",
Nature 1986, https://doi.org/10.1038/323533a0

An MLP maps each feature vector on its own: on a ``(batch, time, features)`` sequence, every frame
goes through the same layers (a 1x1 convolution over time). It is the head of the tutorial's
taggers, and the form of a transformer block's feed-forward half.
"""

from __future__ import annotations

from torch import Tensor, nn

from mir101.bricks._base import Brick, make_activation

__all__ = ["MLP"]


class MLP(Brick):
    """Linear layers with activations in between, applied to the last axis (a multi-layer perceptron).

    Args:
        in_features: size of the last axis of the input.
        hidden_features: sizes of the hidden layers (empty: a single linear layer).
        out_features: size of the output's last axis.
        activation: activation between layers (none after the last).
        dropout: dropout probability after each hidden activation.

    Shape:
        - input: ``(batch, *, in_features)``
        - output: ``(batch, *, out_features)``

    Examples:
        >>> import torch
        >>> MLP(in_features=32, hidden_features=(64,), out_features=10)(torch.zeros(4, 100, 32)).shape
        torch.Size([4, 100, 10])
    """

    def __init__(
        self,
        *,
        in_features: int = 128,
        hidden_features: tuple[int, ...] = (128,),
        out_features: int = 128,
        activation: str | None = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        sizes = (in_features, *hidden_features, out_features)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers += [make_activation(activation), nn.Dropout(dropout)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)

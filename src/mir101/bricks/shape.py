"""Shape helpers that let a YAML layer list move between 2-D, 1-D and sequence layouts.

A network written as a list of layers needs small modules that only rearrange a tensor: squeeze
the frequency axis a convolution has reduced to 1, put time before channels for a recurrent
layer, flatten for a classifier. They are bricks like the others, so the factory can infer
shapes through them and ``mir101 model show`` can print them.

Dimension indices count the batch: in ``(batch, channels, freq, time)``, ``dim=2`` is ``freq``.

References:
    The tutorial's networks ("Deep Learning 101 for Audio-based MIR", ISMIR 2024),
    https://geoffroypeeters.github.io/deeplearning-101-audiomir_book
"""

from __future__ import annotations

import torch
from torch import Tensor

from mir101.bricks._base import Brick
from mir101.errors import ParameterError, ShapeError

__all__ = ["Squeeze", "Unsqueeze", "Permute", "Transpose", "Flatten", "Reshape", "RepeatChannels", "Abs"]


def _dims(dim: int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    return (dim,) if isinstance(dim, int) else tuple(int(d) for d in dim)


class Squeeze(Brick):
    """Remove axes of size 1, and fail loudly if one of them is not of size 1.

    ``torch.squeeze`` silently keeps an axis that is not of size 1; here that is an error, because
    it almost always means the layers before did not reduce that axis as intended.

    Args:
        dim: the axis (or axes) to remove, batch included: ``2`` is ``freq`` in
            ``(batch, channels, freq, time)``.

    Shape:
        - input: ``(batch, channels, 1, time)`` for ``dim=2``
        - output: ``(batch, channels, time)``

    Examples:
        >>> Squeeze(dim=2)(torch.zeros(4, 32, 1, 100)).shape
        torch.Size([4, 32, 100])
    """

    def __init__(self, *, dim: int | tuple[int, ...] = 2):
        super().__init__()
        self.dims = _dims(dim)

    def forward(self, x: Tensor) -> Tensor:
        for d in self.dims:
            if not -x.dim() <= d < x.dim() or x.shape[d] != 1:
                raise ShapeError(
                    f"Squeeze(dim={self._config['dim']}) needs size 1 on axis {d}, got shape {tuple(x.shape)}"
                )
        return x.squeeze(self.dims)


class Unsqueeze(Brick):
    """Insert an axis of size 1.

    Args:
        dim: where the new axis goes, batch included.

    Shape:
        - input: ``(batch, channels, time)``
        - output: ``(batch, channels, 1, time)`` for ``dim=2``

    Examples:
        >>> Unsqueeze(dim=1)(torch.zeros(4, 128, 100)).shape
        torch.Size([4, 1, 128, 100])
    """

    def __init__(self, *, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return x.unsqueeze(self.dim)


class Permute(Brick):
    """Reorder the axes (the batch axis included, and it must stay first).

    Args:
        dims: the new order, e.g. ``(0, 2, 1)`` turns ``(batch, channels, time)`` into
            ``(batch, time, channels)`` for a recurrent or linear layer.

    Shape:
        - input: any tensor with ``len(dims)`` axes
        - output: the same axes, reordered

    Examples:
        >>> Permute(dims=(0, 2, 1))(torch.zeros(4, 32, 100)).shape
        torch.Size([4, 100, 32])
    """

    def __init__(self, *, dims: tuple[int, ...] = (0, 2, 1)):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(len(self.dims))) or self.dims[0] != 0:
            raise ParameterError(
                f"dims={dims!r} must be a permutation of 0..{len(self.dims) - 1} that keeps the batch axis 0 first"
            )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != len(self.dims):
            raise ShapeError(
                f"Permute(dims={self.dims}) needs {len(self.dims)} axes, got shape {tuple(x.shape)}"
            )
        return x.permute(self.dims)


class Transpose(Brick):
    """Swap two axes: ``Transpose(dim0=1, dim1=2)`` is ``(batch, channels, time) -> (batch, time, channels)``.

    Args:
        dim0: one axis, batch included.
        dim1: the other axis.

    Shape:
        - input: ``(batch, ..., a, ..., b, ...)``
        - output: ``(batch, ..., b, ..., a, ...)``

    Examples:
        >>> Transpose(dim0=1, dim1=2)(torch.zeros(4, 32, 100)).shape
        torch.Size([4, 100, 32])
    """

    def __init__(self, *, dim0: int = 1, dim1: int = 2):
        super().__init__()
        if 0 in (dim0, dim1):
            raise ParameterError(f"Transpose(dim0={dim0}, dim1={dim1}) must not move the batch axis 0")
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(self.dim0, self.dim1)


class Flatten(Brick):
    """Merge consecutive axes into one (by default all but the batch axis).

    Args:
        start_dim: first axis to merge (batch included, so ``1`` keeps the batch apart).
        end_dim: last axis to merge.

    Shape:
        - input: ``(batch, channels, freq, time)``
        - output: ``(batch, channels * freq * time)`` with the defaults

    Examples:
        >>> Flatten(start_dim=1, end_dim=2)(torch.zeros(4, 32, 6, 100)).shape
        torch.Size([4, 192, 100])
    """

    def __init__(self, *, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        if start_dim == 0:
            raise ParameterError("Flatten(start_dim=0) would merge the batch axis; use start_dim >= 1")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)


class Reshape(Brick):
    """Give each item a new shape (the batch axis is kept; one ``-1`` may be inferred).

    Args:
        shape: the new shape of one item, without the batch axis.

    Shape:
        - input: ``(batch, *any)``
        - output: ``(batch, *shape)``

    Examples:
        >>> Reshape(shape=(2, 16, -1))(torch.zeros(4, 32, 100)).shape
        torch.Size([4, 2, 16, 100])
    """

    def __init__(self, *, shape: tuple[int, ...] = (-1,)):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: Tensor) -> Tensor:
        try:
            return x.reshape(x.shape[0], *self.shape)
        except RuntimeError as err:
            raise ShapeError(f"Reshape(shape={self.shape}) cannot reshape {tuple(x.shape)}: {err}") from err


class RepeatChannels(Brick):
    """Repeat the channels ``repeats`` times: ``(batch, C, ...) -> (batch, repeats * C, ...)``.

    For instance to feed a mono spectrogram to a network trained on 2-channel input. (The
    tutorial's ``DoubleChannel`` only told its shape bookkeeping that a concatenation had doubled
    the channels; mir101 infers shapes by running the layers, so ``{concat: NAME}`` suffices.)

    Args:
        repeats: how many copies of the channels to stack.

    Shape:
        - input: ``(batch, channels, ...)``
        - output: ``(batch, repeats * channels, ...)``

    Examples:
        >>> RepeatChannels(repeats=2)(torch.zeros(4, 3, 10)).shape
        torch.Size([4, 6, 10])
    """

    def __init__(self, *, repeats: int = 2):
        super().__init__()
        if repeats < 1:
            raise ParameterError(f"repeats={repeats} must be a positive integer")
        self.repeats = repeats

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x] * self.repeats, dim=1)


class Abs(Brick):
    """Absolute value, elementwise: the rectification that follows SincNet's band-pass filters.

    Shape:
        - input: any
        - output: same as input

    Examples:
        >>> Abs()(torch.tensor([-1.0, 2.0]))
        tensor([1., 2.])
    """

    def __init__(self) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x.abs()

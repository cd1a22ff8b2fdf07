"""Positions for attention: sinusoidal and learned absolute encodings, and rotary embeddings (RoPE).

Papers:
    - Vaswani et al., "Attention Is All You Need", NeurIPS 2017, https://arxiv.org/abs/1706.03762
    - Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding", 2021,
      https://arxiv.org/abs/2104.09864

Self-attention is blind to order: permuting the frames permutes the outputs. Absolute encodings
add a vector that depends on the frame index to each input. Rotary embeddings instead rotate
each pair of query/key features by an angle proportional to the position, so the dot product
of a query at ``m`` and a key at ``n`` depends only on ``m - n``: attention becomes relative.

Every module takes an ``offset``, the position of the first frame, so that a decoder generating
one frame at a time with a key/value cache gives each new frame its true position.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.errors import ParameterError, ShapeError
from mir101.utils.registry import Registry

__all__ = [
    "SinusoidalPositions",
    "LearnedPositions",
    "RotaryEmbedding",
    "POSITIONS",
    "make_positions",
    "is_rotary",
]


class SinusoidalPositions(Brick):
    """Add the fixed sinusoidal encoding ``sin/cos(pos / base**(2i / d_model))`` to each frame.

    Args:
        d_model: features per frame (even).
        base: the longest wavelength is ``2 pi base`` frames.

    Shape:
        - input: ``(batch, time, d_model)``
        - output: same as input

    Examples:
        >>> SinusoidalPositions(d_model=16)(torch.zeros(2, 10, 16)).shape
        torch.Size([2, 10, 16])

    References:
        Vaswani et al., "Attention Is All You Need", 2017, https://arxiv.org/abs/1706.03762
    """

    def __init__(self, *, d_model: int = 128, base: float = 10000.0):
        super().__init__()
        if d_model % 2:
            raise ParameterError(f"d_model={d_model} must be even for sinusoidal positions")
        inv_freq = base ** (-torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def encoding(self, length: int, offset: int = 0) -> Tensor:
        """The encoding of positions ``offset .. offset + length - 1``, shape ``(length, d_model)``."""
        pos = torch.arange(offset, offset + length, device=self.inv_freq.device, dtype=torch.float32)
        angles = pos[:, None] * self.inv_freq[None, :]
        return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)  # interleaved sin, cos

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        check_ndim(x, 3, "(batch, time, features)", "SinusoidalPositions")
        return x + self.encoding(x.shape[1], offset).to(x.dtype)


class LearnedPositions(Brick):
    """Add a learned vector per position (up to ``max_len`` positions).

    Args:
        d_model: features per frame.
        max_len: the number of positions that have a vector.

    Shape:
        - input: ``(batch, time, d_model)`` with ``offset + time <= max_len``
        - output: same as input

    Examples:
        >>> LearnedPositions(d_model=16, max_len=32)(torch.zeros(2, 10, 16)).shape
        torch.Size([2, 10, 16])
    """

    def __init__(self, *, d_model: int = 128, max_len: int = 1024):
        super().__init__()
        self.max_len = max_len
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        check_ndim(x, 3, "(batch, time, features)", "LearnedPositions")
        if offset + x.shape[1] > self.max_len:
            raise ShapeError(
                f"LearnedPositions(max_len={self.max_len}) got positions up to {offset + x.shape[1]}; "
                "raise max_len or use sinusoidal / rotary positions"
            )
        pos = torch.arange(offset, offset + x.shape[1], device=x.device)
        return x + self.embedding(pos)


class RotaryEmbedding(Brick):
    """Rotate pairs of features by ``position * base**(-2i / head_dim)`` radians (RoPE).

    Feature ``i`` of the first half is paired with feature ``i`` of the second half. Applied to
    queries and keys (not values) before their dot product, it makes attention scores a function
    of the relative position only: ``<R(m) q, R(n) k> = <q, R(n - m) k>``.

    Args:
        head_dim: features per attention head (even).
        base: sets the slowest rotation.

    Shape:
        - input: ``(batch, heads, time, head_dim)``
        - output: same as input

    Examples:
        >>> rope = RotaryEmbedding(head_dim=8)
        >>> q = torch.randn(1, 1, 1, 8).expand(1, 1, 6, 8)  # the same vector at 6 positions
        >>> s = rope(q) @ rope(q).transpose(-1, -2)          # scores (6, 6)
        >>> bool(torch.allclose(s[0, 0, 1, 0], s[0, 0, 5, 4], atol=1e-5))  # depends on m - n only
        True

    References:
        Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding", 2021,
        https://arxiv.org/abs/2104.09864
    """

    def __init__(self, *, head_dim: int = 64, base: float = 10000.0):
        super().__init__()
        if head_dim % 2:
            raise ParameterError(f"head_dim={head_dim} must be even for rotary embeddings")
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        check_ndim(x, 4, "(batch, heads, time, head_dim)", "RotaryEmbedding")
        pos = torch.arange(offset, offset + x.shape[-2], device=x.device, dtype=torch.float32)
        angles = pos[:, None] * self.inv_freq[None, :]  # (time, head_dim / 2)
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def _sinusoidal(d_model: int, max_len: int) -> nn.Module:
    return SinusoidalPositions(d_model=d_model)


def _learned(d_model: int, max_len: int) -> nn.Module:
    return LearnedPositions(d_model=d_model, max_len=max_len)


def _rotary(d_model: int, max_len: int) -> None:
    return None  # nothing added to the input: the attention rotates queries and keys


#: Positions a transformer accepts by name (``positions="rope"``), as factories
#: ``(d_model, max_len) -> module added to the input``; ``"rope"`` adds none (rotary positions live
#: inside the attention, see :class:`RotaryEmbedding`), nor does ``positions=None`` (order-blind).
POSITIONS: Registry[Callable[[int, int], nn.Module | None]] = Registry("positions")
POSITIONS.add("sinusoidal", _sinusoidal)
POSITIONS.add("learned", _learned)
POSITIONS.add("rope", _rotary)


def make_positions(positions: str | None, d_model: int, max_len: int) -> nn.Module | None:
    """The absolute position encoding named ``positions``, or ``None`` for ``"rope"`` and ``None``.

    Args:
        positions: a name of :data:`POSITIONS` (``"sinusoidal"``, ``"learned"``, ``"rope"``) or ``None``.
        d_model: features per frame.
        max_len: the number of positions of ``"learned"`` encodings.

    Raises:
        UnknownNameError: ``positions`` is not in :data:`POSITIONS` (a ``ParameterError``).

    Examples:
        >>> make_positions("learned", d_model=16, max_len=32)
        LearnedPositions(
          (embedding): Embedding(32, 16)
        )
        >>> make_positions("rope", d_model=16, max_len=32) is None
        True
    """
    if positions is None:
        return None
    return POSITIONS.get(positions)(d_model, max_len)


def is_rotary(positions: str | None) -> bool:
    """Whether ``positions`` names rotary embeddings (``"rope"``, any case)."""
    return positions is not None and str(positions).lower() == "rope"

"""Residual conv-2D blocks: ResNet's basic and bottleneck blocks and the ConvNeXt block.

Papers:
    - He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
      https://arxiv.org/abs/1512.03385
    - Liu et al., "A ConvNet for the 2020s", CVPR 2022, https://arxiv.org/abs/2201.03545
    - Huang et al., "Deep Networks with Stochastic Depth", ECCV 2016, https://arxiv.org/abs/1603.09382

A residual block computes ``y = x + F(x)``: the layers learn a correction to the identity, so
gradients reach early layers through the shortcut and very deep stacks train. When ``F``
changes the number of channels or the resolution, the shortcut is a strided 1x1 convolution.
ConvNeXt modernises the block with a large depthwise kernel, one LayerNorm, an inverted
bottleneck (expand 4x, GELU, project back) and a learned per-channel scale of the residual.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim, pair
from mir101.bricks.norms import make_norm
from mir101.errors import ParameterError

__all__ = ["ResidualBlock", "BottleneckBlock", "ConvNeXtBlock", "DropPath"]


def _same_padding(kernel_size: int | tuple[int, int]) -> tuple[int, int]:
    kf, kt = pair(kernel_size, "kernel_size")
    if kf % 2 == 0 or kt % 2 == 0:
        raise ParameterError(f"kernel_size={kernel_size!r} must be odd so the block keeps the shape")
    return kf // 2, kt // 2


def _shortcut(
    in_channels: int, out_channels: int, stride: int | tuple[int, int], norm: str | None
) -> nn.Module:
    if in_channels == out_channels and pair(stride, "stride") == (1, 1):
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), make_norm(norm, out_channels)
    )


class ResidualBlock(Brick):
    """ResNet's basic block: ``relu(shortcut(x) + bn(conv(relu(bn(conv(x))))))``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd ``(freq, time)`` extent of both convolutions, or one int.
        stride: step of the first convolution (and of the shortcut): ``2`` halves freq and time.
        norm: ``"batch"`` (the paper), ``"layer"``, ``"instance"``, ``"group"`` or ``None``.

    Shape:
        - input: ``(batch, in_channels, freq, time)``
        - output: ``(batch, out_channels, ceil(freq / stride_f), ceil(time / stride_t))``

    Examples:
        >>> ResidualBlock(in_channels=16, out_channels=32, stride=2)(torch.zeros(2, 16, 36, 21)).shape
        torch.Size([2, 32, 18, 11])

    References:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
        https://arxiv.org/abs/1512.03385
    """

    def __init__(
        self,
        *,
        in_channels: int = 64,
        out_channels: int = 64,
        kernel_size: int | tuple[int, int] = (3, 3),
        stride: int | tuple[int, int] = 1,
        norm: str | None = "batch",
    ):
        super().__init__()
        pad = _same_padding(kernel_size)
        k = pair(kernel_size, "kernel_size")
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, k, stride=stride, padding=pad, bias=False),
            make_norm(norm, out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, k, padding=pad, bias=False),
            make_norm(norm, out_channels),
        )
        self.shortcut = _shortcut(in_channels, out_channels, stride, norm)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 4, "(batch, channels, freq, time)", "ResidualBlock")
        return torch.relu(self.shortcut(x) + self.residual(x))


class BottleneckBlock(Brick):
    """ResNet's bottleneck block: 1x1 reduce, kxk at the reduced width, 1x1 expand, plus the shortcut.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        bottleneck_channels: width of the middle convolution (``None``: ``out_channels // 4``).
        kernel_size: odd extent of the middle convolution.
        stride: step of the middle convolution (and of the shortcut).
        norm: normalisation after each convolution (see :class:`ResidualBlock`).

    Shape:
        - input: ``(batch, in_channels, freq, time)``
        - output: ``(batch, out_channels, ceil(freq / stride_f), ceil(time / stride_t))``

    Examples:
        >>> BottleneckBlock(in_channels=64, out_channels=64)(torch.zeros(2, 64, 12, 10)).shape
        torch.Size([2, 64, 12, 10])

    References:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
        https://arxiv.org/abs/1512.03385
    """

    def __init__(
        self,
        *,
        in_channels: int = 256,
        out_channels: int = 256,
        bottleneck_channels: int | None = None,
        kernel_size: int | tuple[int, int] = (3, 3),
        stride: int | tuple[int, int] = 1,
        norm: str | None = "batch",
    ):
        super().__init__()
        mid = bottleneck_channels or max(1, out_channels // 4)
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, bias=False),
            make_norm(norm, mid),
            nn.ReLU(),
            nn.Conv2d(
                mid,
                mid,
                pair(kernel_size, "kernel_size"),
                stride=stride,
                padding=_same_padding(kernel_size),
                bias=False,
            ),
            make_norm(norm, mid),
            nn.ReLU(),
            nn.Conv2d(mid, out_channels, 1, bias=False),
            make_norm(norm, out_channels),
        )
        self.shortcut = _shortcut(in_channels, out_channels, stride, norm)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 4, "(batch, channels, freq, time)", "BottleneckBlock")
        return torch.relu(self.shortcut(x) + self.residual(x))


class DropPath(Brick):
    """Stochastic depth: during training, drop the whole residual branch of an item with probability ``p``.

    Kept items are scaled by ``1 / (1 - p)`` so the expectation is unchanged; identity in eval mode.

    Args:
        p: probability of dropping the branch for one item.

    Shape:
        - input: ``(batch, *)``
        - output: same as input

    Examples:
        >>> DropPath(p=0.5).eval()(torch.ones(3, 2)).tolist()
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]

    References:
        Huang et al., "Deep Networks with Stochastic Depth", ECCV 2016, https://arxiv.org/abs/1603.09382
    """

    def __init__(self, *, p: float = 0.0):
        super().__init__()
        if not 0 <= p < 1:
            raise ParameterError(f"p={p} must be in [0, 1)")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device) >= self.p
        return x * keep / (1 - self.p)


class ConvNeXtBlock(Brick):
    """ConvNeXt: depthwise kxk, LayerNorm, 1x1 expand, GELU, 1x1 project, layer scale, residual.

    Args:
        channels: input and output channels (the residual needs them equal).
        kernel_size: odd extent of the depthwise convolution (7 in the paper).
        expansion: width of the inverted bottleneck, as a multiple of ``channels``.
        layer_scale: initial value of the learned per-channel scale of the branch (``0`` disables it).
        drop_path: stochastic-depth probability of the branch.

    Shape:
        - input: ``(batch, channels, freq, time)``
        - output: same as input

    Examples:
        >>> ConvNeXtBlock(channels=16)(torch.zeros(2, 16, 36, 20)).shape
        torch.Size([2, 16, 36, 20])

    References:
        Liu et al., "A ConvNet for the 2020s", CVPR 2022, https://arxiv.org/abs/2201.03545
    """

    def __init__(
        self,
        *,
        channels: int = 64,
        kernel_size: int | tuple[int, int] = 7,
        expansion: int = 4,
        layer_scale: float = 1e-6,
        drop_path: float = 0.0,
    ):
        super().__init__()
        self.depthwise = nn.Conv2d(
            channels,
            channels,
            pair(kernel_size, "kernel_size"),
            padding=_same_padding(kernel_size),
            groups=channels,
        )
        self.norm = nn.LayerNorm(channels, eps=1e-6)  # applied channels-last
        self.expand = nn.Linear(channels, expansion * channels)
        self.act = nn.GELU()
        self.project = nn.Linear(expansion * channels, channels)
        self.gamma = nn.Parameter(torch.full((channels,), float(layer_scale))) if layer_scale > 0 else None
        self.drop_path = DropPath(p=drop_path)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 4, "(batch, channels, freq, time)", "ConvNeXtBlock")
        y = self.depthwise(x).permute(0, 2, 3, 1)  # (batch, freq, time, channels)
        y = self.project(self.act(self.expand(self.norm(y))))
        if self.gamma is not None:
            y = y * self.gamma
        return x + self.drop_path(y.permute(0, 3, 1, 2))

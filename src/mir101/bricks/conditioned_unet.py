"""Conditioned U-Net: one U-Net for every source, told which one to extract by FiLM on a source id.

Paper: Meseguer-Brocal & Peeters, "Conditioned-U-Net: Introducing a Control Mechanism in the U-Net
for Multiple Source Separations", ISMIR 2019, https://arxiv.org/abs/1907.01277 (FiLM: Perez et
al., AAAI 2018, https://arxiv.org/abs/1709.07871)

A plain U-Net that separates ``K`` sources has ``K`` output masks (or ``K`` networks). The C-U-Net
has one output mask and one extra input, the id of the source wanted: an embedding of the id
predicts, for every encoder level, a per-channel scale and shift (:class:`~mir101.bricks.film.FiLM`)
applied after the level's convolutions. The same weights serve every source; only the
modulation changes. Called without a condition, the brick runs once per source and stacks the
masks on the channel axis, so that it replaces a ``K``-output U-Net in any layer list.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.bricks.film import FiLM
from mir101.bricks.unet import UPSAMPLING, _double_conv, _Up
from mir101.errors import ParameterError, ShapeError

__all__ = ["ConditionedUNet"]


class ConditionedUNet(Brick):
    """A U-Net whose encoder levels are FiLM-modulated by the embedding of a condition id.

    Args:
        in_channels: input channels (1 for a magnitude spectrogram, 2 for real / imaginary).
        out_channels: output channels *per condition* (1 magnitude mask, 2 for a complex mask).
        n_conditions: number of ids (sources).
        channels: width of each level, from the finest to the bottleneck.
        embedding_dim: size of the learned embedding of an id, the input of every FiLM.
        kernel_size: odd kernel of the two convolutions of each level.
        upsample: a name of :data:`~mir101.bricks.unet.UPSAMPLING`.
        norm: normalisation inside the levels (see :class:`~mir101.bricks.unet.UNet`).
        activation: activation inside the levels.

    Shape:
        - input: ``(batch, in_channels, freq, time)``; condition: ``(batch,)`` integer ids
        - output with a condition: ``(batch, out_channels, freq, time)``
        - output without: ``(batch, n_conditions * out_channels, freq, time)``, id ``k``'s
          outputs at channels ``k * out_channels ... (k + 1) * out_channels - 1``

    Examples:
        >>> net = ConditionedUNet(in_channels=1, out_channels=1, n_conditions=4, channels=(4, 8))
        >>> x = torch.randn(2, 1, 16, 8)
        >>> net(x).shape, net(x, torch.tensor([0, 3])).shape
        (torch.Size([2, 4, 16, 8]), torch.Size([2, 1, 16, 8]))

    References:
        Meseguer-Brocal & Peeters, "Conditioned-U-Net", ISMIR 2019, https://arxiv.org/abs/1907.01277
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 1,
        n_conditions: int = 4,
        channels: tuple[int, ...] = (16, 32, 64, 128),
        embedding_dim: int = 16,
        kernel_size: int = 3,
        upsample: str = "transpose",
        norm: str | None = "batch",
        activation: str = "relu",
    ):
        super().__init__()
        if len(channels) < 1:
            raise ParameterError(f"channels={channels!r} needs at least one level")
        if n_conditions < 1:
            raise ParameterError(f"n_conditions={n_conditions} must be >= 1")
        UPSAMPLING.get(upsample)
        if kernel_size % 2 == 0:
            raise ParameterError(f"kernel_size={kernel_size} must be odd")
        conv = dict(kernel_size=kernel_size, norm=norm, activation=activation)
        widths = (in_channels, *channels)
        self.n_conditions, self.out_channels = n_conditions, out_channels
        self.embedding = nn.Embedding(n_conditions, embedding_dim)
        self.down = nn.ModuleList(
            _double_conv(widths[i], widths[i + 1], **conv) for i in range(len(channels))
        )
        self.films = nn.ModuleList(FiLM(num_features=c, cond_dim=embedding_dim) for c in channels)
        self.up = nn.ModuleList(_Up(channels[i + 1], channels[i], upsample) for i in range(len(channels) - 1))
        self.merge = nn.ModuleList(
            _double_conv(2 * channels[i], channels[i], **conv) for i in range(len(channels) - 1)
        )
        self.head = nn.Conv2d(channels[0], out_channels, 1)
        self.factor = 2 ** (len(channels) - 1)

    def _one(self, x: Tensor, condition: Tensor) -> Tensor:
        n_freq, n_time = x.shape[-2:]
        x = F.pad(x, (0, -n_time % self.factor, 0, -n_freq % self.factor))
        c = self.embedding(condition)
        skips = []
        for i, (level, film) in enumerate(zip(self.down, self.films)):
            x = film(level(x), c)
            if i < len(self.down) - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for up, merge in zip(reversed(self.up), reversed(self.merge)):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)[..., :n_freq, :n_time]

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        check_ndim(x, 4, "(batch, channels, freq, time)", "ConditionedUNet")
        if condition is not None:
            condition = torch.as_tensor(condition, device=x.device).long().reshape(-1)
            if condition.shape[0] != x.shape[0]:
                raise ShapeError(
                    f"ConditionedUNet: condition of shape {tuple(condition.shape)} needs one id per item of x {tuple(x.shape)}"
                )
            if condition.numel() and (condition.min() < 0 or condition.max() >= self.n_conditions):
                raise ParameterError(
                    f"condition ids must lie in [0, {self.n_conditions}), got {condition.tolist()}"
                )
            return self._one(x, condition)
        b = x.shape[0]
        ids = torch.arange(self.n_conditions, device=x.device).repeat_interleave(b)  # all ids in one batch
        out = self._one(x.repeat(self.n_conditions, 1, 1, 1), ids)  # (n_cond * batch, out, F, T)
        return (
            out.reshape(self.n_conditions, b, *out.shape[1:]).transpose(0, 1).reshape(b, -1, *out.shape[-2:])
        )

"""A 1-D U-Net over latent frames with a time embedding and class conditions (FiLM), for diffusion and flows.

Papers: Ronneberger et al., "U-Net", MICCAI 2015, https://arxiv.org/abs/1505.04597; Ho, Jain &
Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020, https://arxiv.org/abs/2006.11239
(the U-Net with a sinusoidal time embedding); Perez et al., "FiLM", AAAI 2018,
https://arxiv.org/abs/1709.07871; Ho & Salimans, "Classifier-Free Diffusion Guidance", 2022,
https://arxiv.org/abs/2207.12598 (a "no condition" class per condition); Pasini et al.,
"Music2Latent", ISMIR 2024, https://arxiv.org/abs/2408.06500 (a generator on audio latents).

The network maps a noisy latent sequence ``x_t`` (``(batch, channels, frames)``), the time ``t``
of the noise level and class conditions to a velocity of the latent's shape. ``t`` and the
classes are embedded, summed into one vector, and every residual block modulates its features
with it by FiLM (scale and shift per channel). Each condition has one extra class (index
``n_classes[i]``) meaning "unconditioned", which classifier-free guidance needs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.bricks.film import FiLM
from mir101.errors import ParameterError, ShapeError

__all__ = ["TimeEmbedding", "UNet1d"]


class TimeEmbedding(Brick):
    """``t`` in ``[0, 1]`` -> sinusoidal features of ``1000 t`` -> a two-layer MLP.

    Args:
        dim: output features (even).

    Shape:
        - input: ``(batch,)``
        - output: ``(batch, dim)``

    Examples:
        >>> TimeEmbedding(dim=16)(torch.rand(3)).shape
        torch.Size([3, 16])
    """

    def __init__(self, *, dim: int = 128):
        super().__init__()
        if dim % 2:
            raise ParameterError(f"dim={dim} must be even")
        half = dim // 2
        self.register_buffer(
            "freqs", torch.exp(-math.log(10000.0) * torch.arange(half) / half), persistent=False
        )
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: Tensor) -> Tensor:
        angles = 1000.0 * t.float()[:, None] * self.freqs[None]
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=-1))


class _ResBlock(nn.Module):
    """GroupNorm - SiLU - conv, FiLM by the embedding, GroupNorm - SiLU - conv, plus a 1x1 skip."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(min(8, c_in), c_in), nn.Conv1d(c_in, c_out, 3, padding=1)
        self.film = FiLM(num_features=c_out, cond_dim=emb_dim)
        self.norm2, self.conv2 = nn.GroupNorm(min(8, c_out), c_out), nn.Conv1d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.film(self.conv1(F.silu(self.norm1(x))), emb)
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class UNet1d(Brick):
    """1-D U-Net ``v(x_t, t, classes)`` of ``len(channels)`` resolutions (stride-2 down / up, skips).

    Frames not a multiple of ``2 ** (len(channels) - 1)`` are padded, and the output cropped back.

    Args:
        in_channels: latent channels (the output has as many).
        channels: widths from the finest level to the bottleneck.
        n_classes: classes of each condition (e.g. ``(128, 11)``: MIDI pitch, family); index
            ``n_classes[i]`` of condition ``i`` is "no condition".
        emb_dim: size of the summed time + class embedding.

    Shape:
        - x: ``(batch, in_channels, frames)``
        - t: ``(batch,)`` in ``[0, 1]``
        - conditions: ``(batch, len(n_classes))`` long
        - output: ``(batch, in_channels, frames)``

    Examples:
        >>> net = UNet1d(in_channels=8, channels=(16, 32), n_classes=(12, 3), emb_dim=32)
        >>> net(torch.randn(2, 8, 25), torch.rand(2), torch.tensor([[0, 1], [12, 3]])).shape
        torch.Size([2, 8, 25])

    References:
        Ho et al., "Denoising Diffusion Probabilistic Models", 2020, https://arxiv.org/abs/2006.11239
    """

    def __init__(
        self,
        *,
        in_channels: int = 8,
        channels: tuple[int, ...] = (64, 128, 256),
        n_classes: tuple[int, ...] = (128,),
        emb_dim: int = 128,
    ):
        super().__init__()
        if len(channels) < 1:
            raise ParameterError(f"channels={channels!r} needs at least one level")
        self.n_classes = tuple(int(n) for n in n_classes)
        self.time = TimeEmbedding(dim=emb_dim)
        self.classes = nn.ModuleList(nn.Embedding(n + 1, emb_dim) for n in self.n_classes)
        self.stem = nn.Conv1d(in_channels, channels[0], 3, padding=1)
        widths = (channels[0], *channels)
        self.down = nn.ModuleList(_ResBlock(widths[i], widths[i + 1], emb_dim) for i in range(len(channels)))
        self.pool = nn.ModuleList(nn.Conv1d(c, c, 3, stride=2, padding=1) for c in channels[:-1])
        self.mid = _ResBlock(channels[-1], channels[-1], emb_dim)
        self.up = nn.ModuleList(
            nn.ConvTranspose1d(channels[i + 1], channels[i], 4, stride=2, padding=1)
            for i in range(len(channels) - 1)
        )
        self.merge = nn.ModuleList(
            _ResBlock(2 * channels[i], channels[i], emb_dim) for i in range(len(channels) - 1)
        )
        self.head = nn.Sequential(
            nn.GroupNorm(min(8, channels[0]), channels[0]),
            nn.SiLU(),
            nn.Conv1d(channels[0], in_channels, 3, padding=1),
        )
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.factor = 2 ** (len(channels) - 1)

    def null_conditions(self, batch: int, device: torch.device | None = None) -> Tensor:
        """``(batch, C)``: the "no condition" class of every condition."""
        return torch.tensor(self.n_classes, device=device).expand(batch, -1)

    def embed(self, t: Tensor, conditions: Tensor) -> Tensor:
        if conditions.dim() != 2 or conditions.shape[1] != len(self.classes):
            raise ShapeError(
                f"conditions must be (batch, {len(self.classes)}) class indices, got {tuple(conditions.shape)}"
            )
        emb = self.time(t)
        for i, table in enumerate(self.classes):
            emb = emb + table(conditions[:, i])
        return F.silu(emb)

    def forward(self, x: Tensor, t: Tensor, conditions: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, frames)", "UNet1d")
        n = x.shape[-1]
        emb = self.embed(t.expand(x.shape[0]) if t.dim() == 0 else t, conditions)
        h = self.stem(F.pad(x, (0, -n % self.factor)))
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            if i < len(self.pool):
                skips.append(h)
                h = self.pool[i](h)
        h = self.mid(h, emb)
        for up, merge in zip(reversed(self.up), reversed(self.merge)):
            h = merge(torch.cat([up(h), skips.pop()], dim=1), emb)
        return self.head(h)[..., :n]

"""The variational bottleneck: a Gaussian posterior per latent value, sampled by reparameterisation.

Papers: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
https://arxiv.org/abs/1312.6114 (reparameterisation, the KL term); Higgins et al., "beta-VAE",
ICLR 2017, https://openreview.net/forum?id=Sy2fzU9gl (the KL weight); Kingma et al., "Improved
Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016,
https://arxiv.org/abs/1606.04934 (free bits)

The encoder predicts, for every latent value, a mean ``mu`` and a log-variance ``log s^2``; the
latent is sampled as ``z = mu + s * eps`` with ``eps ~ N(0, 1)`` (the *reparameterisation*: the
randomness is an input, so gradients reach ``mu`` and ``s``). The KL divergence to the prior
``N(0, 1)``, ``KL = 1/2 (mu^2 + s^2 - 1 - log s^2)`` per value, keeps the latent space smooth
and filled: any ``z ~ N(0, 1)`` decodes to something plausible, which is what a generator needs.

Two knobs tame it: the weight ``beta`` of the KL (small for a codec, which wants detail), and
*free bits*: each latent channel's KL (averaged over batch and frames) counts only above
``free_bits`` nats, so the posterior is not pushed onto the prior until it carries nothing
(posterior collapse). In eval mode the latent is the mean ``mu`` (deterministic).

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick
from mir101.bricks.bottleneck import FLOAT_BITS, QuantizedResult, channels_first, channels_last, projection
from mir101.errors import ParameterError

__all__ = ["VAEBottleneck", "gaussian_kl"]


def gaussian_kl(mean: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(mean, exp(logvar)) || N(0, 1))`` of every value, in nats.

    Examples:
        >>> gaussian_kl(torch.zeros(3), torch.zeros(3))
        tensor([0., 0., 0.])
    """
    return 0.5 * (mean**2 + logvar.exp() - 1.0 - logvar)


class VAEBottleneck(Brick):
    """Gaussian latent of ``latent_dim`` channels per frame, with a weighted, free-bits KL loss.

    Args:
        in_channels: channels of the input (the encoder's output).
        latent_dim: channels of the latent ``z``.
        kl_weight: ``beta``, the weight of the KL loss.
        free_bits: nats of KL per latent channel that cost nothing (0: the plain KL).
        logvar_range: ``(min, max)`` the predicted log-variance is clamped to (numerical safety).

    Shape:
        - input: ``(batch, in_channels, *)``
        - output: :class:`~mir101.bricks.bottleneck.QuantizedResult` with ``output`` of the
          input's shape, ``latent`` the posterior mean ``(batch, latent_dim, *)`` and
          ``losses`` ``{"kl": kl_weight * sum_c max(free_bits, mean KL of channel c)}``

    Examples:
        >>> vae = VAEBottleneck(in_channels=32, latent_dim=8, kl_weight=0.1)
        >>> r = vae(torch.randn(2, 32, 50))
        >>> r.output.shape, r.latent.shape, sorted(r.losses)
        (torch.Size([2, 32, 50]), torch.Size([2, 8, 50]), ['kl'])

    References:
        Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, https://arxiv.org/abs/1312.6114
    """

    def __init__(
        self,
        *,
        in_channels: int = 64,
        latent_dim: int = 16,
        kl_weight: float = 1.0,
        free_bits: float = 0.0,
        logvar_range: tuple[float, float] = (-30.0, 20.0),
    ):
        super().__init__()
        if kl_weight < 0 or free_bits < 0:
            raise ParameterError(f"kl_weight={kl_weight} and free_bits={free_bits} must be >= 0")
        if not logvar_range[0] < logvar_range[1]:
            raise ParameterError(f"logvar_range={logvar_range} must be (min, max) with min < max")
        self.in_channels, self.latent_dim = in_channels, latent_dim
        self.kl_weight, self.free_bits, self.logvar_range = kl_weight, free_bits, tuple(logvar_range)
        self.project_in = nn.Linear(in_channels, 2 * latent_dim)  # mean and log-variance
        self.project_out = projection(latent_dim, in_channels)

    def bits_per_frame(self) -> int:
        """``FLOAT_BITS * latent_dim``: the mean is sent as float32 values."""
        return FLOAT_BITS * self.latent_dim

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean, logvar)``, each ``(batch, latent_dim, *)``, of ``x`` ``(batch, in_channels, *)``."""
        stats = self.project_in(channels_last(x, self.in_channels, type(self).__name__))
        mean, logvar = stats.chunk(2, dim=-1)
        return channels_first(mean), channels_first(logvar.clamp(*self.logvar_range))

    def encode(self, x: Tensor) -> Tensor:
        """The posterior mean ``(batch, latent_dim, *)``: what a codec sends."""
        return self.posterior(x)[0]

    def decode(self, latent: Tensor) -> Tensor:
        """``(batch, latent_dim, *) -> (batch, in_channels, *)``; ``latent`` may be drawn from N(0, 1)."""
        return channels_first(self.project_out(channels_last(latent, self.latent_dim, "decode")))

    def kl(self, mean: Tensor, logvar: Tensor) -> Tensor:
        """The weighted KL loss: ``kl_weight * sum over channels of max(free_bits, mean KL)``."""
        per_channel = gaussian_kl(mean, logvar).transpose(0, 1).reshape(self.latent_dim, -1).mean(-1)
        return self.kl_weight * per_channel.clamp(min=self.free_bits).sum()

    def forward(self, x: Tensor) -> QuantizedResult:
        mean, logvar = self.posterior(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if self.training else mean
        return QuantizedResult(self.decode(z), losses={"kl": self.kl(mean, logvar)}, latent=mean)

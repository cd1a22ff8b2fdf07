"""The auto-encoder bottleneck: a narrow continuous latent, and what every bottleneck returns.

Paper: Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks",
Science 2006, https://doi.org/10.1126/science.1127647 (the auto-encoder); the codec view of a
bottleneck (frames per second x bits per frame) is SoundStream's: Zeghidour et al., "SoundStream:
An End-to-End Neural Audio Codec", IEEE/ACM TASLP 2021, https://arxiv.org/abs/2107.03312

An encoder maps audio to a latent sequence ``(batch, channels, frames)``; the *bottleneck* is
where the information is squeezed before a decoder rebuilds the audio. This file holds the
simplest one, a deterministic linear projection to ``latent_dim`` channels and back
(:class:`AutoEncoderBottleneck`), and what every bottleneck of mir101 shares:

- :class:`QuantizedResult`, the :class:`~mir101.bricks.results.BrickOutput` they return:
  ``output`` (what the decoder reads), ``losses`` (commitment, KL...), ``codes`` (the discrete
  tokens of a vector quantiser), ``perplexity`` (how many codes are effectively used) and
  ``latent`` (the continuous latent before quantisation);
- ``encode(x)`` / ``decode(z)``: to the transmitted representation and back (tokens for VQ /
  RVQ, latents for AE / VAE), with ``decode(encode(x)) == forward(x).output`` in eval mode;
- ``bits_per_frame()``, and :func:`bitrate`: ``frames/s x codebooks x log2(codebook size)``.

Every bottleneck reads the channel axis 1 of ``(batch, channels, *)`` (a codec's latent
``(batch, channels, frames)``, an image ``(batch, channels, freq, time)``, or vectors
``(batch, channels)``) and returns the same shape.

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim, make_activation
from mir101.bricks.results import BrickOutput
from mir101.errors import ParameterError, ShapeError

__all__ = [
    "QuantizedResult",
    "AutoEncoderBottleneck",
    "bitrate",
    "channels_last",
    "channels_first",
    "FLOAT_BITS",
]

#: bits per value of a continuous latent as mir101 stores it (float32)
FLOAT_BITS = 32


@dataclass
class QuantizedResult(BrickOutput):
    """What a bottleneck returns (the model factory passes ``output`` on and gathers ``losses``).

    Args:
        output: the (quantised) tensor the decoder receives, ``(batch, channels, *)``.
        losses: weighted auxiliary losses (``commitment``, ``codebook``, ``kl``), scalars.
        codes: token indices, ``(batch, *)`` for one codebook, ``(batch, n_q, *)`` for residual
            codebooks; ``None`` for a continuous bottleneck.
        perplexity: ``exp(entropy)`` of the codes used in this batch, one value per codebook
            ``(n_q,)``: from 1 (one code for everything) to the codebook size (all equally used).
        latent: the continuous latent the bottleneck squeezes, ``(batch, latent_dim, *)`` (the
            projection's output before quantisation; a VAE's posterior mean).

    Examples:
        >>> r = QuantizedResult(torch.zeros(2, 8, 5), codes=torch.zeros(2, 5, dtype=torch.long))
        >>> r.output.shape, r.codes.shape, r.losses
        (torch.Size([2, 8, 5]), torch.Size([2, 5]), {})
    """

    codes: Tensor | None = None
    perplexity: Tensor | None = None
    latent: Tensor | None = None


def bitrate(frame_rate: float, n_codebooks: int, codebook_size: int) -> float:
    """Bits per second of a quantised latent: ``frame_rate * n_codebooks * log2(codebook_size)``.

    Args:
        frame_rate: latent frames per second (sample rate / the encoder's total stride).
        n_codebooks: codebooks per frame (1 for a VQ, the residual quantisers used for an RVQ).
        codebook_size: codes per codebook.

    Examples:
        >>> bitrate(50, 8, 1024)  # SoundStream at 24 kHz has 75 Hz frames: 6 kbps with 8 x 10 bits
        4000.0
    """
    if frame_rate <= 0 or n_codebooks < 1 or codebook_size < 2:
        raise ParameterError(
            f"bitrate: need frame_rate > 0, n_codebooks >= 1 and codebook_size >= 2, got "
            f"{frame_rate}, {n_codebooks}, {codebook_size}"
        )
    return float(frame_rate) * int(n_codebooks) * math.log2(int(codebook_size))


def channels_last(x: Tensor, channels: int, who: str) -> Tensor:
    """``(batch, channels, *) -> (batch, *, channels)``, checking the channel count."""
    check_ndim(x, tuple(range(2, 8)), "(batch, channels, *)", who)
    if x.shape[1] != channels:
        raise ShapeError(f"{who} expects {channels} channels on axis 1, got input of shape {tuple(x.shape)}")
    return x.movedim(1, -1)


def channels_first(x: Tensor) -> Tensor:
    """``(batch, *, channels) -> (batch, channels, *)``."""
    return x.movedim(-1, 1)


def projection(in_features: int, out_features: int | None) -> nn.Module:
    """A linear map of the channels, or the identity when ``out_features`` is ``None`` or equal."""
    if out_features is None or out_features == in_features:
        return nn.Identity()
    return nn.Linear(in_features, out_features)


class AutoEncoderBottleneck(Brick):
    """A continuous, deterministic bottleneck: project the channels to ``latent_dim`` and back.

    The narrowness is the only constraint: nothing makes the latent discrete or regular, so it
    stores 32-bit floats (its "bitrate" is ``FLOAT_BITS * latent_dim`` bits per frame) and its
    space has holes a generator cannot sample from (the VAE fixes that, the VQ makes it discrete).

    Args:
        in_channels: channels of the input (the encoder's output).
        latent_dim: channels of the latent; ``None`` keeps ``in_channels`` (no projection).
        activation: applied to the latent (a name of
            :data:`~mir101.bricks._base.ACTIVATIONS`, e.g. ``"tanh"`` to bound it); ``None``: linear.

    Shape:
        - input: ``(batch, in_channels, *)``
        - output: :class:`QuantizedResult` with ``output`` of the input's shape and ``latent``
          ``(batch, latent_dim, *)``; no loss, no codes

    Examples:
        >>> ae = AutoEncoderBottleneck(in_channels=32, latent_dim=4)
        >>> r = ae(torch.randn(2, 32, 50))
        >>> r.output.shape, r.latent.shape, ae.bits_per_frame()
        (torch.Size([2, 32, 50]), torch.Size([2, 4, 50]), 128)

    References:
        Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks",
        Science 2006, https://doi.org/10.1126/science.1127647
    """

    def __init__(
        self, *, in_channels: int = 64, latent_dim: int | None = None, activation: str | None = None
    ):
        super().__init__()
        self.in_channels = in_channels
        self.latent_dim = latent_dim or in_channels
        self.project_in = projection(in_channels, self.latent_dim)
        self.activation = make_activation(activation)
        self.project_out = projection(self.latent_dim, in_channels)

    def bits_per_frame(self) -> int:
        """``FLOAT_BITS * latent_dim``: the latent is sent as float32 values."""
        return FLOAT_BITS * self.latent_dim

    def encode(self, x: Tensor) -> Tensor:
        """The latent ``(batch, latent_dim, *)`` of ``x`` ``(batch, in_channels, *)``."""
        z = self.activation(self.project_in(channels_last(x, self.in_channels, type(self).__name__)))
        return channels_first(z)

    def decode(self, latent: Tensor) -> Tensor:
        """``(batch, latent_dim, *) -> (batch, in_channels, *)``, what the decoder reads."""
        return channels_first(self.project_out(channels_last(latent, self.latent_dim, "decode")))

    def forward(self, x: Tensor) -> QuantizedResult:
        latent = self.encode(x)
        return QuantizedResult(self.decode(latent), latent=latent)

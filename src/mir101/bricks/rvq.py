"""Residual vector quantisation: N codebooks, each quantising what the previous ones left over.

Paper: Zeghidour, Luebs, Omran, Skoglund & Tagliasacchi, "SoundStream: An End-to-End Neural Audio
Codec", IEEE/ACM TASLP 2021, https://arxiv.org/abs/2107.03312 (algorithm 1, quantizer dropout);
used by EnCodec (Défossez et al., "High Fidelity Neural Audio Compression", 2022,
https://arxiv.org/abs/2210.13438) and the tokenisers of MusicGen and AudioLM.

One codebook of ``K`` codes spends ``log2(K)`` bits per frame; 6 kbps at 75 frames/s would need
``K = 2^80`` codes. A residual quantiser chains ``N`` small codebooks instead: the first quantises
the latent ``z``, the second the residual ``z - q_1``, the third ``z - q_1 - q_2``..., and the
output is ``q_1 + ... + q_N``: ``N log2(K)`` bits per frame, each codebook refining the previous.

*Quantizer dropout*: during training, with probability ``quantizer_dropout``, a batch uses only
the first ``n`` codebooks, ``n`` drawn uniformly in ``[1, N]``. The first codebooks then learn to
carry the most information on their own, and one model serves every bitrate from ``log2(K)``
to ``N log2(K)`` bits per frame (``forward(x, n_quantizers=n)``, ``encode(x, n)``).

The gradient: every stage's output is detached and a single straight-through estimator is
applied to the sum (``z + sg(sum q - z)``), so the decoder's gradient reaches the encoder once,
not once per stage (EnCodec issue 25); each stage's commitment loss pulls ``z`` toward its codes.

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick
from mir101.bricks.bottleneck import QuantizedResult, bitrate, channels_first, channels_last, projection
from mir101.bricks.vq import VectorQuantizer, _broadcast
from mir101.errors import ParameterError, ShapeError

__all__ = ["ResidualVectorQuantizer"]


class ResidualVectorQuantizer(Brick):
    """``n_quantizers`` vector quantisers in a chain, each on the previous one's residual.

    Args:
        in_channels: channels of the input (the encoder's output).
        n_quantizers: number of codebooks ``N`` (the highest bitrate).
        codebook_size: codes per codebook ``K``.
        codebook_dim: dimension of the codes; smaller than ``in_channels`` projects the latent
            down once before the chain and back up after it (factorised codes).
        quantizer_dropout: probability that a training batch uses only the first ``n`` codebooks,
            ``n`` uniform in ``[1, N]`` (SoundStream; 0 disables it).
        commitment_weight: ``beta`` of each stage's commitment loss (the losses are averaged
            over the stages used).
        ema, decay, dead_code_threshold: of every stage, see
            :class:`~mir101.bricks.vq.VectorQuantizer` (residuals shrink from stage to stage,
            so the cosine codes of a single quantiser are not offered here).

    Shape:
        - input: ``(batch, in_channels, *)``
        - output: :class:`~mir101.bricks.bottleneck.QuantizedResult` with ``output`` of the
          input's shape, ``codes`` ``(batch, n, *)`` for the ``n`` codebooks used, ``perplexity``
          ``(n,)``, ``latent`` ``(batch, codebook_dim, *)``, ``losses`` ``{"commitment"}`` (and
          ``"codebook"`` when ``ema=False``), each the mean over the stages used

    Examples:
        >>> rvq = ResidualVectorQuantizer(in_channels=16, n_quantizers=4, codebook_size=64).eval()
        >>> r = rvq(torch.randn(2, 16, 50))
        >>> r.output.shape, r.codes.shape, r.perplexity.shape
        (torch.Size([2, 16, 50]), torch.Size([2, 4, 50]), torch.Size([4]))
        >>> rvq.encode(torch.randn(2, 16, 50), n_quantizers=2).shape
        torch.Size([2, 2, 50])
        >>> rvq.bitrate(frame_rate=50.0, n_quantizers=2)  # 50 frames/s x 2 codebooks x 6 bits
        600.0

    References:
        Zeghidour et al., "SoundStream: An End-to-End Neural Audio Codec", IEEE/ACM TASLP 2021,
        https://arxiv.org/abs/2107.03312
    """

    def __init__(
        self,
        *,
        in_channels: int = 64,
        n_quantizers: int = 8,
        codebook_size: int = 1024,
        codebook_dim: int | None = None,
        quantizer_dropout: float = 0.0,
        commitment_weight: float = 0.25,
        ema: bool = True,
        decay: float = 0.99,
        dead_code_threshold: float = 1.0,
    ):
        super().__init__()
        if n_quantizers < 1:
            raise ParameterError(f"n_quantizers={n_quantizers} must be at least 1")
        if not 0.0 <= quantizer_dropout <= 1.0:
            raise ParameterError(f"quantizer_dropout={quantizer_dropout} must be a probability in [0, 1]")
        self.in_channels, self.n_quantizers, self.codebook_size = in_channels, n_quantizers, codebook_size
        self.codebook_dim = codebook_dim or in_channels
        self.quantizer_dropout = quantizer_dropout
        self.project_in = projection(in_channels, self.codebook_dim)
        self.project_out = projection(self.codebook_dim, in_channels)
        self.quantizers = nn.ModuleList(
            VectorQuantizer(
                in_channels=self.codebook_dim,
                codebook_size=codebook_size,
                commitment_weight=commitment_weight,
                ema=ema,
                decay=decay,
                dead_code_threshold=dead_code_threshold,
            )
            for _ in range(n_quantizers)
        )

    def bits_per_frame(self, n_quantizers: int | None = None) -> float:
        """``n * log2(codebook_size)`` for the first ``n`` codebooks (default: all)."""
        return self._n(n_quantizers) * self.quantizers[0].bits_per_frame()

    def bitrate(self, frame_rate: float, n_quantizers: int | None = None) -> float:
        """Bits per second at ``frame_rate`` latent frames per second with ``n`` codebooks."""
        return bitrate(frame_rate, self._n(n_quantizers), self.codebook_size)

    def _n(self, n_quantizers: int | None) -> int:
        if n_quantizers is None:
            return self.n_quantizers
        if not 1 <= int(n_quantizers) <= self.n_quantizers:
            raise ParameterError(
                f"n_quantizers={n_quantizers} must lie in [1, {self.n_quantizers}] (the codebooks this RVQ has)"
            )
        return int(n_quantizers)

    def _latent(self, x: Tensor) -> Tensor:
        return channels_first(self.project_in(channels_last(x, self.in_channels, type(self).__name__)))

    def encode(self, x: Tensor, n_quantizers: int | None = None) -> Tensor:
        """Codes ``(batch, n, *)`` (int64) of ``x`` ``(batch, in_channels, *)`` with ``n`` codebooks."""
        residual = self._latent(x)
        codes = []
        for vq in self.quantizers[: self._n(n_quantizers)]:
            index = vq.encode(residual)
            codes.append(index)
            residual = residual - channels_first(vq.lookup(index))
        return torch.stack(codes, dim=1)

    def decode(self, codes: Tensor) -> Tensor:
        """Codes ``(batch, n, *)`` of the first ``n`` codebooks -> ``(batch, in_channels, *)``."""
        if codes.dim() < 2 or not 1 <= codes.shape[1] <= self.n_quantizers:
            raise ShapeError(
                f"decode expects codes (batch, n, *) with 1 <= n <= {self.n_quantizers}, got "
                f"shape {tuple(codes.shape)}"
            )
        total = sum(
            channels_first(vq.lookup(self._checked(codes[:, i], vq)))
            for i, vq in enumerate(self.quantizers[: codes.shape[1]])
        )
        return channels_first(self.project_out(channels_last(total, self.codebook_dim, "decode")))

    def _checked(self, codes: Tensor, vq: VectorQuantizer) -> Tensor:
        if codes.dtype.is_floating_point or codes.dtype == torch.bool:
            raise ShapeError(f"decode expects integer codes, got dtype {codes.dtype}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= vq.codebook_size):
            raise ShapeError(
                f"codes must lie in [0, {vq.codebook_size}), got values in [{int(codes.min())}, {int(codes.max())}]"
            )
        return codes.long()

    def _dropout_draw(self, device: torch.device) -> int:
        """Codebooks for this training batch: ``N``, or with probability ``quantizer_dropout`` a
        uniform draw in ``[1, N]``; rank 0's draw on every process of a DDP run (every process must
        run the same stages: their EMA statistics are all-reduced stage by stage)."""
        n = self.n_quantizers
        if float(torch.rand(())) < self.quantizer_dropout:
            n = int(torch.randint(1, self.n_quantizers + 1, ()))
        return int(_broadcast(torch.tensor([n], device=device)).item())

    def forward(self, x: Tensor, n_quantizers: int | None = None) -> QuantizedResult:
        n = self._n(n_quantizers)
        if self.training and n_quantizers is None and self.quantizer_dropout > 0:
            n = self._dropout_draw(x.device)
        latent = self._latent(x)
        residual, total = latent, torch.zeros_like(latent)
        codes, perplexities, losses = [], [], []
        for vq in self.quantizers[:n]:
            r = vq(residual)
            quantized = r.output.detach()  # the stage's codes (value q), no gradient through it
            total = total + quantized
            residual = residual - quantized
            codes.append(r.codes)
            perplexities.append(r.perplexity)
            losses.append(r.losses)
        straight_through = latent + (total - latent).detach()
        output = channels_first(self.project_out(channels_last(straight_through, self.codebook_dim, "rvq")))
        return QuantizedResult(
            output=output,
            losses={k: torch.stack([stage[k] for stage in losses]).mean() for k in losses[0]},
            codes=torch.stack(codes, dim=1),
            perplexity=torch.cat(perplexities),
            latent=latent,
        )

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, n_quantizers={self.n_quantizers}, "
            f"codebook_size={self.codebook_size}, codebook_dim={self.codebook_dim}, "
            f"quantizer_dropout={self.quantizer_dropout}"
        )

"""Vector quantisation: replace each latent vector by the nearest of K learned codes (VQ-VAE).

Papers:
    - van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation Learning", NeurIPS
      2017, https://arxiv.org/abs/1711.00937 (VQ-VAE: straight-through estimator, codebook and
      commitment losses; EMA codebook updates in its appendix)
    - Razavi, van den Oord & Vinyals, "Generating Diverse High-Fidelity Images with VQ-VAE-2",
      NeurIPS 2019, https://arxiv.org/abs/1906.00446 (EMA updates as the default)
    - Yu et al., "Vector-quantized Image Modeling with Improved VQGAN", ICLR 2022,
      https://arxiv.org/abs/2110.04627 (ViT-VQGAN: factorised low-dimensional codes and
      l2-normalised, cosine-similarity codes)
    - Dhariwal et al., "Jukebox: A Generative Model for Music", 2020,
      https://arxiv.org/abs/2005.00341 (random restarts of dead codes from batch vectors)

For each latent vector ``z`` (one frame of the encoder's output), the quantiser picks the code
``k = argmin_j ||z - e_j||`` of a codebook ``E (K, d)`` and outputs ``q = e_k``: the frame is now
one integer of ``log2(K)`` bits. Three things make it trainable:

- **straight-through estimator**: ``argmin`` has no gradient, so the output is written
  ``z + sg(q - z)``: its value is ``q``, its gradient is the decoder's gradient copied to ``z``;
- **commitment loss** ``beta ||z - sg(q)||^2`` keeps the encoder near the codes it picks;
- **codebook update**: either the codebook loss ``||sg(z) - q||^2`` by gradient descent, or (the
  default) an exponential moving average of the vectors each code is assigned, a k-means step per
  batch (per code ``k``: ``N_k <- g N_k + (1-g) n_k``, ``m_k <- g m_k + (1-g) sum z``,
  ``e_k = m_k / N_k``).

A code no vector picks any more (its EMA count falls under ``dead_code_threshold``) is *dead*: it
is re-initialised from a random vector of the current batch, so the whole codebook stays in
use. The codebook starts from random vectors of the first training batch. With
``codebook_dim < in_channels`` the vectors are projected down before the look-up and back up
after (factorised codes); with ``cosine=True`` vectors and codes are l2-normalised, so the
nearest code is the one with the largest cosine similarity.

Einstein legend: ``b`` batch, ``d`` code dimension, ``n`` vectors (batch x frames), ``k`` codes.

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks._base import Brick
from mir101.bricks.bottleneck import QuantizedResult, channels_first, channels_last, projection
from mir101.errors import ParameterError, ShapeError

__all__ = ["VectorQuantizer", "perplexity"]


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _all_reduce(t: Tensor) -> Tensor:
    """Sum ``t`` over the processes of a DDP run (in place); unchanged in a single process."""
    if _distributed():
        dist.all_reduce(t)
    return t


def _broadcast(t: Tensor) -> Tensor:
    """Rank 0's ``t`` on every process, so random draws keep the codebooks identical."""
    if _distributed():
        dist.broadcast(t, 0)
    return t


def _sample(vectors: Tensor, n: int) -> Tensor:
    """``n`` random rows of ``vectors (n_vectors, d)`` (with replacement when there are fewer)."""
    if vectors.shape[0] >= n:
        index = torch.randperm(vectors.shape[0], device=vectors.device)[:n]
    else:
        index = torch.randint(0, vectors.shape[0], (n,), device=vectors.device)
    return vectors[index]


def perplexity(counts: Tensor) -> Tensor:
    """``exp(entropy)`` of a code histogram ``(k,)``: 1 (one code) to ``k`` (all equally used).

    Examples:
        >>> float(perplexity(torch.tensor([5.0, 5.0, 0.0, 0.0])))
        2.0
    """
    p = counts / counts.sum().clamp(min=1e-12)
    return torch.exp(-(p * torch.log(p.clamp(min=1e-12))).sum())


class VectorQuantizer(Brick):
    """One codebook of ``codebook_size`` codes: nearest-code quantisation of the channel vectors.

    Args:
        in_channels: channels of the input (the encoder's output).
        codebook_size: number of codes ``K`` (``log2(K)`` bits per frame).
        codebook_dim: dimension of the codes; ``None`` is ``in_channels``; smaller values project
            the vectors down and back up (ViT-VQGAN's factorised codes, e.g. 8 or 32).
        commitment_weight: ``beta`` of the commitment loss (0.25 in VQ-VAE).
        ema: update the codebook by exponential moving averages (VQ-VAE-2); ``False`` learns it
            by gradient with the codebook loss.
        decay: EMA decay ``gamma`` (0.99), also of the usage counts that find dead codes.
        dead_code_threshold: a code whose EMA count (vectors per batch) falls below it is
            re-initialised from the batch; 0 never re-initialises.
        cosine: l2-normalise vectors and codes (nearest = largest cosine similarity).
        epsilon: Laplace smoothing of the EMA counts (no division by zero).

    Shape:
        - input: ``(batch, in_channels, *)``, e.g. ``(batch, channels, frames)``
        - output: :class:`~mir101.bricks.bottleneck.QuantizedResult` with ``output`` of the
          input's shape, ``codes`` ``(batch, *)`` (int64), ``perplexity`` ``(1,)``, ``latent``
          ``(batch, codebook_dim, *)``, and ``losses`` ``{"commitment"}`` (plus ``"codebook"``
          when ``ema=False``)

    Examples:
        >>> vq = VectorQuantizer(in_channels=16, codebook_size=32, codebook_dim=4)
        >>> r = vq(torch.randn(2, 16, 50))
        >>> r.output.shape, r.codes.shape, sorted(r.losses)
        (torch.Size([2, 16, 50]), torch.Size([2, 50]), ['commitment'])
        >>> _ = vq.eval()
        >>> torch.allclose(vq.decode(vq.encode(torch.ones(1, 16, 3))), vq(torch.ones(1, 16, 3)).output)
        True

    References:
        van den Oord et al., "Neural Discrete Representation Learning", NeurIPS 2017,
        https://arxiv.org/abs/1711.00937; Razavi et al., VQ-VAE-2, NeurIPS 2019,
        https://arxiv.org/abs/1906.00446; Yu et al., ViT-VQGAN, ICLR 2022, https://arxiv.org/abs/2110.04627
    """

    def __init__(
        self,
        *,
        in_channels: int = 64,
        codebook_size: int = 512,
        codebook_dim: int | None = None,
        commitment_weight: float = 0.25,
        ema: bool = True,
        decay: float = 0.99,
        dead_code_threshold: float = 1.0,
        cosine: bool = False,
        epsilon: float = 1e-5,
    ):
        super().__init__()
        if codebook_size < 2:
            raise ParameterError(f"codebook_size={codebook_size} must be at least 2")
        if not 0.0 < decay < 1.0:
            raise ParameterError(f"decay={decay} must lie in (0, 1)")
        if dead_code_threshold < 0:
            raise ParameterError(f"dead_code_threshold={dead_code_threshold} must be >= 0")
        self.in_channels, self.codebook_size = in_channels, codebook_size
        self.codebook_dim = codebook_dim or in_channels
        self.commitment_weight, self.ema, self.decay = commitment_weight, ema, decay
        self.dead_code_threshold, self.cosine, self.epsilon = dead_code_threshold, cosine, epsilon
        self.project_in = projection(in_channels, self.codebook_dim)
        self.project_out = projection(self.codebook_dim, in_channels)
        codebook = torch.randn(codebook_size, self.codebook_dim)
        if cosine:
            codebook = F.normalize(codebook, dim=-1)
        if ema:
            self.register_buffer("codebook", codebook)
            self.register_buffer("embed_sum", codebook.clone())
        else:
            self.codebook = nn.Parameter(codebook)
        self.register_buffer("cluster_size", torch.ones(codebook_size))  # EMA of vectors per code
        self.register_buffer("initialised", torch.tensor(False))

    # ------------------------------------------------------------------ look-up
    def bits_per_frame(self) -> float:
        """``log2(codebook_size)``."""
        return math.log2(self.codebook_size)

    def _vectors(self, x: Tensor) -> tuple[Tensor, tuple[int, ...]]:
        """``(batch, in_channels, *)`` -> projected vectors ``(n, d)`` and the shape ``(batch, *)``."""
        z = self.project_in(channels_last(x, self.in_channels, type(self).__name__))
        if self.cosine:
            z = F.normalize(z, dim=-1)
        return z.reshape(-1, self.codebook_dim), tuple(z.shape[:-1])

    def nearest(self, vectors: Tensor) -> Tensor:
        """The index ``(n,)`` of the nearest code of each vector ``(n, d)`` (the projected latent)."""
        codebook = self.codebook.detach()
        if self.cosine:  # unit vectors: nearest = largest dot product
            return (vectors.detach() @ F.normalize(codebook, dim=-1).t()).argmax(dim=-1)
        # ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2; ||z||^2 does not change the argmin
        distances = (codebook**2).sum(-1) - 2 * vectors.detach() @ codebook.t()  # (n, k)
        return distances.argmin(dim=-1)

    def lookup(self, codes: Tensor) -> Tensor:
        """Codes ``(...)`` -> code vectors ``(..., d)`` (gradient reaches a learned codebook)."""
        vectors = F.embedding(codes, self.codebook)
        return F.normalize(vectors, dim=-1) if self.cosine else vectors

    def encode(self, x: Tensor) -> Tensor:
        """The code index of every vector: ``(batch, in_channels, *) -> (batch, *)`` (int64)."""
        vectors, shape = self._vectors(x)
        return self.nearest(vectors).view(shape)

    def decode(self, codes: Tensor) -> Tensor:
        """Codes ``(batch, *)`` -> the quantised tensor ``(batch, in_channels, *)``."""
        if codes.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise ShapeError(f"decode expects integer codes (batch, *), got dtype {codes.dtype}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.codebook_size):
            raise ShapeError(
                f"codes must lie in [0, {self.codebook_size}), got values in "
                f"[{int(codes.min())}, {int(codes.max())}]"
            )
        return channels_first(self.project_out(self.lookup(codes.long())))

    # ------------------------------------------------------------------ training updates
    @torch.no_grad()
    def _initialise(self, vectors: Tensor) -> None:
        """Codes from random vectors of the first training batch (instead of k-means)."""
        codebook = _broadcast(_sample(vectors.detach(), self.codebook_size).contiguous())
        self.codebook.data.copy_(codebook)
        if self.ema:
            self.embed_sum.copy_(codebook)
        self.cluster_size.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _update(self, vectors: Tensor, codes: Tensor) -> None:
        """EMA statistics (and, with ``ema``, the codebook), then dead codes from the batch."""
        onehot = F.one_hot(codes, self.codebook_size).type(vectors.dtype)  # (n, k)
        counts = _all_reduce(onehot.sum(0))
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        if self.ema:
            sums = _all_reduce(onehot.t() @ vectors.detach())  # (k, d)
            self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            n = self.cluster_size.sum()
            smoothed = (self.cluster_size + self.epsilon) / (n + self.codebook_size * self.epsilon) * n
            codebook = self.embed_sum / smoothed[:, None]
            self.codebook.copy_(F.normalize(codebook, dim=-1) if self.cosine else codebook)
        self._replace_dead_codes(vectors)

    @torch.no_grad()
    def _replace_dead_codes(self, vectors: Tensor) -> None:
        if self.dead_code_threshold <= 0:
            return
        dead = self.cluster_size < self.dead_code_threshold  # the same on every process (all-reduced)
        n_dead = int(dead.sum())
        if n_dead == 0:
            return
        fresh = _broadcast(_sample(vectors.detach(), n_dead).contiguous())
        self.codebook.data[dead] = fresh
        self.cluster_size[dead] = self.dead_code_threshold  # one decay step of grace
        if self.ema:
            self.embed_sum[dead] = fresh * self.dead_code_threshold

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> QuantizedResult:
        vectors, shape = self._vectors(x)  # (n, d)
        if self.training and not bool(self.initialised):
            self._initialise(vectors)
        codes = self.nearest(vectors)
        quantized = self.lookup(codes)  # (n, d)
        losses = {"commitment": self.commitment_weight * F.mse_loss(vectors, quantized.detach())}
        if not self.ema:
            losses["codebook"] = F.mse_loss(quantized, vectors.detach())
        counts = torch.bincount(codes, minlength=self.codebook_size).to(vectors.dtype)
        if self.training:
            self._update(vectors, codes)
        straight_through = vectors + (quantized - vectors).detach()  # value q, gradient to z
        latent = vectors.view(*shape, self.codebook_dim)
        output = self.project_out(straight_through.view(*shape, self.codebook_dim))
        return QuantizedResult(
            output=channels_first(output),
            losses=losses,
            codes=codes.view(shape),
            perplexity=perplexity(counts).view(1),
            latent=channels_first(latent),
        )

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, codebook_size={self.codebook_size}, "
            f"codebook_dim={self.codebook_dim}, ema={self.ema}, cosine={self.cosine}"
        )

"""A trained codec model as a codec: audio -> codes -> audio, at a chosen bitrate.

The codec task's model is a multi-part model (``encoder``, ``bottleneck``, ``decoder``) whose
``bottleneck`` part is one bottleneck brick (``ae``, ``vae``, ``vq``, ``rvq``). :class:`NeuralCodec`
runs the parts separately, so that a residual quantiser can use fewer codebooks (a lower
bitrate) and the transmitted representation (tokens, or float latents) can be written to a file
and decoded later.

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks.bottleneck import AutoEncoderBottleneck, QuantizedResult
from mir101.bricks.rvq import ResidualVectorQuantizer
from mir101.bricks.vae import VAEBottleneck
from mir101.bricks.vq import VectorQuantizer
from mir101.errors import ConfigError

__all__ = ["NeuralCodec", "BOTTLENECK_TYPES", "fingerprint"]

#: the bricks a codec's ``bottleneck`` part may hold
BOTTLENECK_TYPES = (AutoEncoderBottleneck, VAEBottleneck, VectorQuantizer, ResidualVectorQuantizer)
#: the parts a codec model has
PARTS = ("encoder", "bottleneck", "decoder")


def fingerprint(model: nn.Module) -> str:
    """A short hash of a model's weights: codes made by one model are refused by another."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


class NeuralCodec:
    """Encoder, bottleneck brick and decoder of a trained codec model, run one after the other.

    Args:
        model: a :class:`~mir101.models.ModelParts` with parts ``encoder``, ``bottleneck`` (one
            bottleneck layer) and ``decoder``, mapping ``(batch, 1, samples)`` to the same shape.
        sr: the sample rate (Hz) it was trained at.

    Attributes:
        hop: audio samples per latent frame (the encoder's total stride).
        frame_rate: latent frames per second, ``sr / hop``.
        bottleneck: the bottleneck brick.
        kind: ``"tokens"`` (VQ / RVQ: integer codes) or ``"latents"`` (AE / VAE: float32 values).

    Raises:
        ConfigError: the model is not such a codec (naming what is missing).
    """

    def __init__(self, model: nn.Module, sr: int):
        check_codec_model(model)
        self.model, self.sr = model, int(sr)
        parts = model.parts  # type: ignore[attr-defined]
        self.encoder, self.decoder = parts["encoder"], parts["decoder"]
        self.bottleneck = parts["bottleneck"].net[0]
        self.hop = int(self.encoder.input_shape[-1] // self.encoder.output_shape[-1])
        self.frame_rate = self.sr / self.hop
        self.kind = (
            "tokens" if isinstance(self.bottleneck, (VectorQuantizer, ResidualVectorQuantizer)) else "latents"
        )

    # ------------------------------------------------------------------ bitrate
    @property
    def n_quantizers(self) -> int:
        """Codebooks per frame: the RVQ's, 1 for a VQ, 0 for a continuous bottleneck."""
        if isinstance(self.bottleneck, ResidualVectorQuantizer):
            return self.bottleneck.n_quantizers
        return 1 if isinstance(self.bottleneck, VectorQuantizer) else 0

    @property
    def codebook_size(self) -> int:
        return int(getattr(self.bottleneck, "codebook_size", 0))

    def bits_per_frame(self, n_quantizers: int | None = None) -> float:
        if isinstance(self.bottleneck, ResidualVectorQuantizer):
            return float(self.bottleneck.bits_per_frame(n_quantizers))
        return float(self.bottleneck.bits_per_frame())

    def kbps(self, n_quantizers: int | None = None) -> float:
        """The bitrate in kbit/s: ``frame_rate * bits_per_frame / 1000`` (float32 for latents)."""
        return self.frame_rate * self.bits_per_frame(n_quantizers) / 1000.0

    def describe(self) -> dict[str, Any]:
        """What the codec is, for ``metrics.json`` and the codes files."""
        return {
            "bottleneck": type(self.bottleneck).__name__,
            "kind": self.kind,
            "sr": self.sr,
            "hop": self.hop,
            "frame_rate_hz": self.frame_rate,
            "n_quantizers": self.n_quantizers,
            "codebook_size": self.codebook_size,
            "bits_per_frame": self.bits_per_frame(),
            "kbps": self.kbps(),
        }

    # ------------------------------------------------------------------ running it
    def pad(self, x: Tensor) -> Tensor:
        """``(batch, 1, samples)`` zero-padded at the end to a whole number of frames."""
        return F.pad(x, (0, (-x.shape[-1]) % self.hop))

    def _quantize(self, latent: Tensor, n_quantizers: int | None) -> QuantizedResult:
        if isinstance(self.bottleneck, ResidualVectorQuantizer):
            return self.bottleneck(latent, n_quantizers=n_quantizers)
        return self.bottleneck(latent)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, n_quantizers: int | None = None) -> tuple[Tensor, QuantizedResult]:
        """``(batch, 1, samples)`` -> its reconstruction (same shape) and the bottleneck's result."""
        n = x.shape[-1]
        result = self._quantize(self.encoder(self.pad(x)), n_quantizers)
        return self.decoder(result.output)[..., :n], result

    @torch.no_grad()
    def encode(self, audio: np.ndarray, n_quantizers: int | None = None) -> np.ndarray:
        """Mono audio ``(samples,)`` at ``sr`` -> tokens ``(codebooks, frames)`` or latents ``(dim, frames)``."""
        x = self.pad(torch.as_tensor(np.asarray(audio, np.float32))[None, None])
        latent = self.encoder(x)
        if isinstance(self.bottleneck, ResidualVectorQuantizer):
            return self.bottleneck.encode(latent, n_quantizers)[0].numpy().astype(np.int32)
        if isinstance(self.bottleneck, VectorQuantizer):
            return self.bottleneck.encode(latent).numpy().astype(np.int32)  # (1, frames)
        return self.bottleneck.encode(latent)[0].numpy().astype(np.float32)

    @torch.no_grad()
    def decode(self, data: np.ndarray, n_samples: int) -> np.ndarray:
        """Tokens or latents (as :meth:`encode` gives them) -> mono audio ``(n_samples,)``."""
        z = torch.as_tensor(data)[None]
        if isinstance(self.bottleneck, VectorQuantizer):
            z = z[:, 0]  # one codebook: (batch, frames)
        out = self.decoder(self.bottleneck.decode(z.long() if self.kind == "tokens" else z.float()))
        return out[0, 0, :n_samples].numpy()


def check_codec_model(model: nn.Module) -> None:
    """Raise :class:`ConfigError` unless ``model`` has the parts of a codec and one bottleneck brick."""
    parts = getattr(model, "parts", None)
    if not isinstance(parts, dict) or any(p not in parts for p in PARTS):
        have = sorted(parts) if isinstance(parts, dict) else "a single layer list"
        raise ConfigError(
            f"a codec model has parts {list(PARTS)} (model: {{parts: {{encoder: ..., bottleneck: ..., "
            f"decoder: ...}}}}); this one has {have}"
        )
    if list(model.chain[:3]) != list(PARTS):  # type: ignore[attr-defined]
        raise ConfigError(f"a codec model runs encoder -> bottleneck -> decoder; this one runs {model.chain}")
    layers = parts["bottleneck"].net
    if len(layers) != 1 or not isinstance(layers[0], BOTTLENECK_TYPES):
        names = [s.name for s in parts["bottleneck"].steps]
        raise ConfigError(
            f"a codec's bottleneck part is one bottleneck layer (ae, vae, vq or rvq); got {names}: "
            "put other layers in the encoder or the decoder"
        )
    if tuple(model.output_shape) != tuple(model.input_shape):  # type: ignore[attr-defined]
        encoder = parts["encoder"]
        hop = round(encoder.input_shape[-1] / max(encoder.output_shape[-1], 1))
        raise ConfigError(
            f"a codec gives back its input's shape {tuple(model.input_shape)}; this model outputs "  # type: ignore[attr-defined]
            f"{tuple(model.output_shape)}: the input length (data.patch_frames) must be a multiple of "  # type: ignore[attr-defined]
            f"the codec's hop (about {hop} samples per latent frame)"
        )

"""Every loss by name, so that a config chooses its loss with one string.

Book page: ``book/intro.md`` (training).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from mir101.errors import ConfigError, ParameterError
from mir101.losses.adversarial import AdversarialLoss
from mir101.losses.contrastive import NTXentLoss
from mir101.losses.sdr import SISDRLoss
from mir101.losses.spectral import MultiResolutionSTFTLoss, STFTLoss
from mir101.losses.triplet import TripletLoss
from mir101.losses.vicreg import VICRegLoss
from mir101.utils.registry import Registry

__all__ = ["LOSSES", "build_loss"]

#: loss name -> ``nn.Module`` class (case-insensitive)
LOSSES: Registry[type[nn.Module]] = Registry("loss")
LOSSES.add("bce", nn.BCEWithLogitsLoss)  # multi-label: an independent sigmoid per output
LOSSES.add("ce", nn.CrossEntropyLoss)  # multi-class: softmax over classes (dim 1)
LOSSES.add("mse", nn.MSELoss)  # regression
LOSSES.add("l1", nn.L1Loss)
LOSSES.add("si_sdr", SISDRLoss)  # source separation (negative SI-SDR)
LOSSES.add("stft", STFTLoss)  # one STFT resolution
LOSSES.add("mrstft", MultiResolutionSTFTLoss)  # codecs, vocoders
LOSSES.add("triplet", TripletLoss)  # metric learning (cover songs)
LOSSES.add("ntxent", NTXentLoss)  # contrastive self-supervision
LOSSES.add("vicreg", VICRegLoss)  # non-contrastive self-supervision
LOSSES.add("adversarial", AdversarialLoss)  # GAN-trained codecs


def build_loss(name: str, **kwargs: Any) -> nn.Module:
    """A loss by name with its keyword arguments; ``pos_weight`` may be a float for ``bce``.

    Raises:
        ConfigError: an unknown name (the message lists the valid ones), an argument the loss
            does not take (the message lists those it takes) or a bad value.

    Examples:
        >>> build_loss("bce", pos_weight=3.0).pos_weight
        tensor(3.)
        >>> build_loss("triplet", margin=0.5, strategy="hard")
        TripletLoss(
          margin=0.5, squared=False
          (miner): TripletMiner(strategy='hard', margin=0.5, squared=False)
        )
    """
    if (
        "pos_weight" in kwargs
        and kwargs["pos_weight"] is not None
        and not isinstance(kwargs["pos_weight"], Tensor)
    ):
        kwargs["pos_weight"] = torch.tensor(float(kwargs["pos_weight"]))
    try:
        return LOSSES.build(name, kwargs)
    except ParameterError as err:
        raise ConfigError(f"loss '{name}': {err}") from err

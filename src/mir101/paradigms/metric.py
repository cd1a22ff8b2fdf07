"""Metric learning: a model maps items to embeddings in which items of one class are close.

The paradigm of the tutorial's cover-song identification: the network embeds a chroma-like
input, a triplet loss with online mining (:class:`~mir101.losses.TripletLoss`) pulls versions of
one work together and pushes other works away, inside batches of P works x K versions
(:class:`~mir101.data.samplers.PKSampler`). Validation logs the same loss and the share of mined
triplets that still violate the margin.

References:
    Schroff, Kalenichenko & Philbin, "FaceNet: A Unified Embedding for Face Recognition and
    Clustering", CVPR 2015, https://arxiv.org/abs/1503.03832
    Yesiler, Serrà & Gómez, "Accurate and Scalable Version Identification Using
    Musically-Motivated Embeddings", ICASSP 2020, https://arxiv.org/abs/1910.12551

Book page: ``book/cover.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mir101.errors import ShapeError
from mir101.losses.triplet import pairwise_distances
from mir101.paradigms.base import System
from mir101.paradigms.batch import batch_field

__all__ = ["MetricLearning"]


class MetricLearning(System):
    """Train ``model`` so that its embeddings of items with the same label are close.

    Args:
        model: maps a batch ``x`` to embeddings ``(batch, dim)``.
        loss: ``loss(embeddings, labels) -> ()``, e.g. :class:`~mir101.losses.TripletLoss`.
        optim: the config's ``optim`` section (see :class:`~mir101.paradigms.base.System`).
        channels_last: see :class:`~mir101.paradigms.base.System`.
        normalize: L2-normalise the embeddings before the loss (FaceNet's unit hypersphere, on
            which distances lie in [0, 2] and a margin has a fixed meaning); the task normalises
            them alike at evaluation (:meth:`embed`).
        input_key, label_key: the fields of ``x`` and the labels in the batch (tuple batches:
            index 0 and 1).

    Shape:
        ``x``: ``(batch, ...)``; labels: ``(batch,)`` integers (e.g. work ids).
    """

    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module,
        optim: Mapping[str, Any] | None = None,
        channels_last: bool = False,
        normalize: bool = True,
        input_key: str | int = "x",
        label_key: str | int = "y",
    ):
        super().__init__(model, optim, channels_last)
        self.loss = loss
        self.normalize = normalize
        self.input_key, self.label_key = input_key, label_key

    def embed(self, x: Tensor) -> Tensor:
        """The model's embeddings of a batch, L2-normalised if ``normalize``."""
        emb = self.model(self.prepare_input(x))
        return nn.functional.normalize(emb, dim=-1) if self.normalize and emb.dim() == 2 else emb

    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        x = batch_field(batch, self.input_key, position=0, name="input_key")
        labels = batch_field(batch, self.label_key, position=1, name="label_key").long().flatten()
        emb = self.embed(x)
        if emb.dim() != 2 or emb.shape[0] != labels.shape[0]:
            raise ShapeError(
                f"metric learning needs embeddings (batch, dim) for {labels.shape[0]} labels, "
                f"the model gave {tuple(emb.shape)}"
            )
        terms = {"loss": self.loss(emb, labels)}
        miner = getattr(self.loss, "miner", None)
        if miner is not None:  # the share of mined triplets that still violate the margin
            with torch.no_grad():
                t = miner(emb, labels)
                if len(t):
                    d = pairwise_distances(emb.detach().float(), squared=miner.squared)
                    viol = d[t.anchor, t.positive] - d[t.anchor, t.negative] + miner.margin > 0
                    terms["active"] = viol.float().mean()
        return terms

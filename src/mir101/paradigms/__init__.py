"""Training paradigms: one LightningModule per way of learning, each taking any model.

The protocol (see :mod:`mir101.paradigms.base`): ``export_model()`` is what a run saves,
``common_step(batch, train)`` is shared by training and validation, optimizers and schedules come
by name (:data:`OPTIMIZERS`, :data:`SCHEDULERS`), several optimizers go through
:class:`ManualSystem`, and batches may be tuples, dicts or dataclasses.
Losses live in :mod:`mir101.losses`, metrics in :mod:`mir101.metrics`.
"""

from mir101.paradigms.adversarial import Adversarial
from mir101.paradigms.autoencoder import AutoEncoder
from mir101.paradigms.base import System
from mir101.paradigms.batch import batch_field, batch_size
from mir101.paradigms.contrastive import Contrastive
from mir101.paradigms.manual import ManualSystem, OptimGroup
from mir101.paradigms.metric import MetricLearning
from mir101.paradigms.optim import OPTIMIZERS, SCHEDULERS, cosine_with_warmup, make_optimizer, make_scheduler
from mir101.paradigms.supervised import Supervised

__all__ = [
    "System",
    "Supervised",
    "Contrastive",
    "AutoEncoder",
    "Adversarial",
    "MetricLearning",
    "ManualSystem",
    "OptimGroup",
    "OPTIMIZERS",
    "SCHEDULERS",
    "make_optimizer",
    "make_scheduler",
    "cosine_with_warmup",
    "batch_field",
    "batch_size",
]

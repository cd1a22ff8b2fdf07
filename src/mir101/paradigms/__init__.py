"""Training paradigms: one LightningModule per way of learning, each taking any model."""

from mir101.paradigms.base import System, make_optimizer, make_scheduler
from mir101.paradigms.supervised import LOSSES, Supervised, build_loss

__all__ = ["System", "Supervised", "build_loss", "LOSSES", "make_optimizer", "make_scheduler"]

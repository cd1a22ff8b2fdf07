"""Losses by registry: classification, regression, separation, spectral, phase, metric, (non-)contrastive, adversarial.

Each loss is an ``nn.Module`` (or a function) whose docstring gives its shapes and its paper;
:func:`build_loss` builds one by its name in :data:`LOSSES`, the name an experiment's config uses.

Book page: ``book/intro.md`` (training).
"""

from mir101.losses.adversarial import AdversarialLoss, feature_matching_loss
from mir101.losses.contrastive import NTXentLoss
from mir101.losses.phase import PhaseDerivativeLoss
from mir101.losses.registry import LOSSES, build_loss
from mir101.losses.sdr import SISDRLoss, si_sdr
from mir101.losses.spectral import MultiResolutionSTFTLoss, STFTLoss
from mir101.losses.triplet import MINING_STRATEGIES, TripletLoss, TripletMiner, Triplets, pairwise_distances
from mir101.losses.vicreg import VICRegLoss, vicreg_terms

__all__ = [
    "LOSSES",
    "build_loss",
    "si_sdr",
    "SISDRLoss",
    "STFTLoss",
    "MultiResolutionSTFTLoss",
    "PhaseDerivativeLoss",
    "TripletLoss",
    "TripletMiner",
    "Triplets",
    "MINING_STRATEGIES",
    "pairwise_distances",
    "NTXentLoss",
    "VICRegLoss",
    "vicreg_terms",
    "AdversarialLoss",
    "feature_matching_loss",
]

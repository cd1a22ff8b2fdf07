"""Adversarial losses: hand-computed values for hinge and least squares, multi-scale lists."""

from __future__ import annotations

import pytest
import torch

from mir101.errors import ParameterError, ShapeError
from mir101.losses import AdversarialLoss, feature_matching_loss


def test_hinge_hand_computed():
    adv = AdversarialLoss("hinge")
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.5])
    # relu(1 - real) = (0, 1) -> 0.5 ; relu(1 + fake) = (0, 1.5) -> 0.75
    assert adv.discriminator(real, fake).item() == pytest.approx(1.25)
    assert adv.generator(fake).item() == pytest.approx(0.75)  # -mean(fake)


def test_lsgan_hand_computed_and_multiscale_sum():
    adv = AdversarialLoss("lsgan")
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    # (real - 1)^2 = (0, 1) -> 0.5 ; fake^2 = (0, 4) -> 2
    assert adv.discriminator(real, fake).item() == pytest.approx(2.5)
    assert adv.generator(fake).item() == pytest.approx(1.0)  # ((-1)^2 + 1^2) / 2
    assert adv.discriminator([real, real], [fake, fake]).item() == pytest.approx(5.0)
    assert adv(fake).item() == adv.generator(fake).item()


def test_feature_matching_detaches_real():
    real = [torch.ones(2, 3, requires_grad=True)]
    fake = [torch.zeros(2, 3, requires_grad=True)]
    loss = feature_matching_loss(real, fake)
    loss.backward()
    assert loss.item() == 1.0 and real[0].grad is None and fake[0].grad is not None


def test_bad_arguments():
    with pytest.raises(ParameterError, match="kind='wgan'"):
        AdversarialLoss("wgan")
    with pytest.raises(ShapeError):
        AdversarialLoss().discriminator([torch.ones(1)], [])

"""Adversarial paradigm: two optimizers each moving its own network, feature matching, one reconstruction per batch."""

from __future__ import annotations

import pytest
import torch
from test_autoencoder import SR, codec, one_thread, tones  # noqa: F401  (one_thread: a fixture)
from torch.utils.data import DataLoader, TensorDataset

from mir101.bricks.discriminator import MultiScaleSTFTDiscriminator
from mir101.paradigms import Adversarial
from mir101.paradigms.autoencoder import ReconstructionLoss


def system(**kwargs) -> Adversarial:
    torch.manual_seed(0)
    return Adversarial(
        codec({"rvq": {"n_quantizers": 2, "codebook_size": 16}}),
        MultiScaleSTFTDiscriminator(fft_sizes=(128, 64), filters=4),
        ReconstructionLoss(sr=SR, fft_sizes=(128,), n_mels=16),
        optim={"lr": 1e-3},
        discriminator_optim={"lr": 1e-4, "betas": (0.5, 0.9)},
        **kwargs,
    )


def test_generator_terms_include_adversarial_and_feature_matching():
    s = system(kind="lsgan", adversarial_weight=2.0, feature_weight=3.0)
    terms = s.group_step("generator", (tones(2),), train=True)
    assert {"loss", "recon", "adversarial", "features", "commitment", "perplexity"} <= set(terms)
    expected = terms["recon"] + 2.0 * terms["adversarial"] + 3.0 * terms["features"] + terms["commitment"]
    torch.testing.assert_close(terms["loss"], expected)


def test_the_discriminator_reuses_the_generator_steps_reconstruction(monkeypatch):
    s = system()
    batch = (tones(2),)
    calls = []
    forward = s.model.forward
    monkeypatch.setattr(s.model, "forward", lambda *a, **k: calls.append(1) or forward(*a, **k))
    s.group_step("generator", batch, train=True)
    s.group_step("discriminator", batch, train=True)
    assert len(calls) == 1
    s.group_step("discriminator", (tones(2),), train=True)  # another batch: reconstructed again
    assert len(calls) == 2


def test_validation_logs_recon_for_monitoring_and_optimizers_are_separate():
    s = system()
    terms = s.common_step((tones(2),), train=False)
    assert {"loss", "recon", "generator/recon", "discriminator/loss", "discriminator/real"} <= set(terms)
    configs = s.configure_optimizers()
    assert configs[1]["optimizer"].defaults["betas"] == (0.5, 0.9)
    assert configs[1]["optimizer"].defaults["lr"] == 1e-4 and configs[0]["optimizer"].defaults["lr"] == 1e-3


@pytest.mark.usefixtures("one_thread")
def test_a_lightning_fit_moves_both_players_and_exports_the_generator(trainer_factory):
    s = system()
    generator = {k: v.clone() for k, v in s.model.state_dict().items()}
    critic = {k: v.clone() for k, v in s.discriminator.state_dict().items()}
    trainer_factory(max_epochs=2).fit(s, DataLoader(TensorDataset(tones(8)), batch_size=4))
    assert any(not torch.equal(generator[k], v) for k, v in s.model.state_dict().items())
    assert any(not torch.equal(critic[k], v) for k, v in s.discriminator.state_dict().items())
    assert s.export_model() is s.model

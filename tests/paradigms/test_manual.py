"""ManualSystem: two optimizers through Lightning, each moving only its own parameters."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mir101.errors import ConfigError
from mir101.losses import AdversarialLoss
from mir101.paradigms import ManualSystem, OptimGroup


class TinyGAN(ManualSystem):
    """A linear generator against a linear discriminator (least-squares GAN)."""

    def __init__(self, groups=None):
        super().__init__(nn.Linear(2, 2), optim={"name": "sgd", "lr": 0.1, "scheduler": "step"})
        self.discriminator = nn.Linear(2, 1)
        self.adv = AdversarialLoss("lsgan")
        self.groups = groups
        self.steps: list[tuple[str, set[str]]] = []  # (group, parameters changed by its step)

    def optim_groups(self):
        return self.groups or [
            OptimGroup(
                "discriminator", "discriminator", {"name": "adam", "lr": 0.05, "betas": (0.5, 0.9)}, 1.0
            ),
            OptimGroup("generator", "model", self.optim),
        ]

    def group_step(self, group, batch, train):
        (real,) = batch
        fake = self.model(torch.randn_like(real))
        if group == "discriminator":
            return {
                "loss": self.adv.discriminator(self.discriminator(real), self.discriminator(fake.detach()))
            }
        return {"loss": self.adv.generator(self.discriminator(fake)), "fake_mean": fake.mean()}

    def configure_optimizers(self):
        configs = super().configure_optimizers()
        for group, config in zip(self.optim_groups(), configs):
            opt = config["optimizer"]
            snapshot = {}

            def pre(optimizer, args, kwargs, snapshot=snapshot, name=group.name):
                snapshot.update({n: p.detach().clone() for n, p in self.named_parameters()})
                if name == "discriminator":  # clip_norm=1.0: its gradients were clipped
                    grads = [p.grad for p in self.discriminator.parameters()]
                    assert torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])) <= 1.0 + 1e-5

            def post(optimizer, args, kwargs, snapshot=snapshot, name=group.name):
                changed = {n for n, p in self.named_parameters() if not torch.equal(p, snapshot[n])}
                self.steps.append((name, changed))

            opt.register_step_pre_hook(pre)
            opt.register_step_post_hook(post)
        return configs


def loader(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(3.0 + torch.randn(n, 2, generator=g)), batch_size=8)


def test_two_optimizers_each_move_only_their_parameters(trainer_factory):
    L.seed_everything(0, verbose=False)
    gan = TinyGAN()
    start = {n: p.detach().clone() for n, p in gan.named_parameters()}
    trainer = trainer_factory(max_epochs=1, limit_train_batches=5, limit_val_batches=2)
    trainer.fit(gan, loader(), loader(16, 1))
    assert [g for g, _ in gan.steps] == ["discriminator", "generator"] * 5
    assert trainer.global_step == 10  # Lightning counts each optimizer's step
    for group, changed in gan.steps:
        prefix = "discriminator." if group == "discriminator" else "model."
        assert changed and all(n.startswith(prefix) for n in changed), (group, changed)
    assert all(not torch.equal(p, start[n]) for n, p in gan.named_parameters())  # both sets moved
    # the generator's per-step schedule ("step": total 5 batches -> halve every step)
    assert trainer.optimizers[1].param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**5)
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.05)
    logged = set(trainer.callback_metrics)
    assert {"train/discriminator/loss", "train/generator/loss", "train/generator/fake_mean"} <= logged
    assert {"val/loss", "val/discriminator/loss", "val/generator/loss"} <= logged
    assert all(p.requires_grad for p in gan.parameters())  # toggling left nothing frozen


def test_export_model_leaves_the_discriminator_out():
    gan = TinyGAN()
    assert gan.export_model() is gan.model
    assert set(gan.export_model().state_dict()) == {"weight", "bias"}
    assert gan.automatic_optimization is False


def test_bad_groups_are_named():
    shared = [OptimGroup("a", "model"), OptimGroup("b", "model")]
    with pytest.raises(ConfigError, match="'a' and 'b' share parameters"):
        TinyGAN(shared).configure_optimizers()
    with pytest.raises(ConfigError, match="module='critic'"):
        TinyGAN([OptimGroup("d", "critic")]).configure_optimizers()
    with pytest.raises(ConfigError, match="optim.name"):
        TinyGAN([OptimGroup("d", "discriminator", {"name": "rmsprop"})]).configure_optimizers()

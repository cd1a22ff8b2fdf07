"""Supervised: a step lowers the loss, tuple / dict / dataclass batches, val metrics in a Lightning fit."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchmetrics import MetricCollection
from torchmetrics.regression import MeanAbsoluteError

from mir101.errors import ParameterError
from mir101.losses import build_loss
from mir101.paradigms import Supervised, System


def fixed_batch(n=16):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.randn(4, 3, generator=g)
    return x, y


def system(**kwargs):
    torch.manual_seed(0)
    return Supervised(nn.Linear(4, 3), build_loss("mse"), **kwargs)


@dataclass
class Pair:
    audio: torch.Tensor
    target: torch.Tensor
    work: torch.Tensor


@pytest.mark.parametrize("optim", [{"name": "sgd", "lr": 0.05}, {"name": "adam", "lr": 0.01}])
def test_one_optimizer_step_lowers_the_loss_on_a_fixed_batch(optim):
    s = system(optim=optim)
    opt = s.configure_optimizers()
    batch = fixed_batch()
    before = s.common_step(batch, train=True)["loss"]
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = s.common_step(batch, train=True)["loss"]
    assert after < before - 1e-4


def test_tuple_dict_and_dataclass_batches_give_the_same_loss():
    x, y = fixed_batch()
    s = system()
    ref = s.common_step((x, y), train=True)["loss"]
    assert torch.equal(s.common_step([x, y, torch.zeros(16)], train=True)["loss"], ref)
    assert torch.equal(s.common_step({"x": x, "y": y, "key": ["a"] * 16}, train=True)["loss"], ref)
    s2 = system(input_key="audio", target_key="target")
    assert torch.equal(s2.common_step(Pair(x, y, torch.zeros(16)), train=True)["loss"], ref)
    assert torch.equal(s2.common_step({"audio": x, "target": y}, train=True)["loss"], ref)
    s3 = system(input_key=1, target_key=0)  # integer keys index tuples
    assert torch.equal(s3.common_step((y, x), train=True)["loss"], ref)
    for batch in ((x, y), {"y": y, "x": x}, Pair(x, y, torch.zeros(16))):
        assert System._batch_size(batch) == 16


def test_missing_key_names_the_parameter_and_the_fields():
    x, y = fixed_batch()
    with pytest.raises(ParameterError, match=r"target_key='label'.*\['x', 'y'\]"):
        system(target_key="label").common_step({"x": x, "y": y}, train=True)
    with pytest.raises(ParameterError, match=r"input_key='mix'.*'audio'"):
        system(input_key="mix").common_step(Pair(x, y, y), train=True)
    with pytest.raises(ParameterError, match="tuple batch of 1"):
        system().common_step((x,), train=True)


def test_cross_entropy_targets_become_class_indices():
    torch.manual_seed(0)
    s = Supervised(nn.Linear(4, 3), build_loss("ce"))
    x = torch.randn(8, 4)
    loss = s.common_step((x, torch.tensor([0.0, 1, 2, 0, 1, 2, 0, 1])), train=True)["loss"]
    assert torch.isfinite(loss)


def test_export_model_is_the_model():
    s = system()
    assert s.export_model() is s.model
    assert set(s.export_model().state_dict()) == {"weight", "bias"}


class DictData(Dataset):
    def __init__(self, n=32, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x @ torch.ones(4, 3)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i], "index": i}


def test_two_epoch_fit_logs_validation_metrics(trainer_factory):
    L.seed_everything(0, verbose=False)
    s = system(optim={"name": "adam", "lr": 0.05}, metrics=MetricCollection({"mae": MeanAbsoluteError()}))
    train, valid = DataLoader(DictData(32, 0), batch_size=8), DataLoader(DictData(16, 1), batch_size=8)
    with torch.no_grad():
        first = float(sum(s.common_step(b, train=True)["loss"] for b in valid) / len(valid))
    trainer = trainer_factory(max_epochs=2)
    trainer.fit(s, train, valid)
    logged = trainer.callback_metrics
    assert {"val/loss", "val/mae", "train/loss"} <= set(logged)
    assert trainer.current_epoch == 2 and float(logged["val/loss"]) < first

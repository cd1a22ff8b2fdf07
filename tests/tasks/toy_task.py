"""A second task in a few dozen lines: which instrument family plays an isolated note.

It exists to prove the frame is general: it trains, evaluates, reports and predicts through the
Task contract with no change to the runner, the CLI or the quickstart. It is registered only
inside the tests that use it (``register_toy_task``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from mir101.data import PatchDataset, load_audio
from mir101.losses import build_loss
from mir101.paradigms import Supervised
from mir101.tasks.base import EvalResult, Task
from mir101.tasks.datamodule import SupervisedDataModule


@dataclass
class ToyOptions:
    label: str = "family"


class ToyNoteFamily(Task):
    name = "toy_family"
    Options = ToyOptions

    @cached_property
    def classes(self) -> list[str]:
        return sorted({str(self.store.value(k, self.options.label)) for k in self.keys})

    def model_variables(self) -> dict:
        return {"n_classes": len(self.classes)}

    def datamodule(self, split):
        cache, d = self.features(self.store), self.cfg.data
        label = lambda k: self.classes.index(str(self.store.value(k, self.options.label)))  # noqa: E731
        make = lambda keys: PatchDataset(  # noqa: E731
            keys, cache, label, cache.n_frames, d.patch_frames, d.patch_frames, frame_targets=False
        )
        valid = make(split["valid"]) if split["valid"] else None
        return SupervisedDataModule(make(split["train"]), valid, d.batch_size, seed=self.cfg.train.seed)

    def system(self, model):
        return Supervised(model, build_loss("ce"), optim=dict(self.cfg.optim))

    def _logits(self, model, features: np.ndarray) -> np.ndarray:
        p = self.cfg.data.patch_frames
        x = np.pad(features, ((0, 0), (0, 0), (0, max(p - features.shape[-1], 0))))[..., :p]
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(x[None])).float())[0].numpy()

    def evaluate(self, model, split, run_dir):
        from sklearn.metrics import accuracy_score

        cache = self.features(self.store)
        keys = split["test"]
        truth = [self.classes.index(str(self.store.value(k, self.options.label))) for k in keys]
        guess = [int(np.argmax(self._logits(model, np.asarray(cache(k), np.float32)))) for k in keys]
        scores = {"accuracy": float(accuracy_score(truth, guess)), "items": len(keys)}
        return EvalResult(self.name, "accuracy", {"test": scores}, {"classes": self.classes})

    def predict(self, model, run_dir, audio_path, out_dir):
        audio = load_audio(audio_path, int(self.input.sr))
        features = self.input(torch.from_numpy(audio)[None])[0].numpy()
        logits = self._logits(model, features)
        out = Path(out_dir) / f"{Path(audio_path).stem}.family.json"
        out.write_text(json.dumps({"family": self.classes[int(np.argmax(logits))]}))
        return {"family": self.classes[int(np.argmax(logits))], "json": str(out)}


TOY_MODEL = [
    "batchnorm2d",
    {"conv2d": {"out_channels": 8, "kernel_size": 3, "padding": "same"}},
    "relu",
    {"globalmeanpool": {"dim": -1}},  # time: (batch, 8, mels)
    "flatten",
    {"linear": {"out_features": "$n_classes"}},
]

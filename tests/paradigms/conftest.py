"""Tiny Lightning trainers for the paradigm tests: CPU, no logger, no progress bar, no checkpoints."""

from __future__ import annotations

import warnings

import lightning as L
import pytest


@pytest.fixture
def trainer_factory():
    def make(**kwargs) -> L.Trainer:
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*is smaller than the logging interval.*")
        options = dict(
            accelerator="cpu",
            devices=1,
            max_epochs=2,
            enable_progress_bar=False,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        options.update(kwargs)
        return L.Trainer(**options)

    return make

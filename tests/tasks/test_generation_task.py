"""The generation task: held-out (family, pitch) pairs, tokens / latents of a codec run, learning, evaluation sets.

A tiny codec (hop 320, 25 frames per half-second note) is trained once per session on the tiny
notes corpus of the codec tests, and shared with the contract test (``generation_config``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from mir101.config import load_config
from mir101.errors import ParameterError
from mir101.tasks import train
from mir101.tasks.generation import FAMILIES
from mir101.tasks.runner import make_task

ROOT = Path(__file__).resolve().parents[2]

TINY_NOTES = {
    "programs": [0, 40, 73],
    "pitch_range": [48, 72],
    "pitch_step": 2,
    "velocities": [100],
    "duration": 0.5,
    "note_off": 0.35,
    "progress": False,
}


def tiny_codec(bottleneck: dict) -> dict:
    """A three-block SEANet codec of hop 320 (50 frames/s at 16 kHz), 8 latent channels."""
    enc = [{"conv1d": {"out_channels": 4, "kernel_size": 7, "padding": 3}}]
    dec = [{"conv1d": {"out_channels": 16, "kernel_size": 3, "padding": 1}}]
    for c, s in ((8, 4), (16, 8), (16, 10)):
        enc.append({"seanetencoderblock": {"out_channels": c, "stride": s, "dilations": [1]}})
    for c, s in ((16, 10), (8, 8), (4, 4)):
        dec.append({"seanetdecoderblock": {"out_channels": c, "stride": s, "dilations": [1]}})
    enc.append({"conv1d": {"out_channels": 8, "kernel_size": 3, "padding": 1}})
    dec.append({"conv1d": {"out_channels": 1, "kernel_size": 7, "padding": 3}})
    return {"parts": {"encoder": enc, "bottleneck": [bottleneck], "decoder": dec}}


BOTTLENECKS = {
    "rvq": {"rvq": {"n_quantizers": 4, "codebook_size": 16, "quantizer_dropout": 1.0}},
    "ae": {"ae": {"latent_dim": 4}},
}
_CODEC_RUNS: dict[str, Path] = {}


def codec_run(root: Path, kind: str) -> Path:
    """A trained tiny codec run (``rvq`` or ``ae``), trained once per test session."""
    if kind in _CODEC_RUNS:
        return _CODEC_RUNS[kind]
    cfg = {
        "task": {"name": "codec", "held_out_notes": 0.0, "report_items": 0},
        "data": {
            "corpus": "notes", "corpus_args": dict(TINY_NOTES), "patch_frames": 8000,
            "patch_hop_frames": 8000, "batch_size": 8, "feature_dtype": "float32",
        },
        "input": {"name": "waveform", "sr": 16000},
        "model": tiny_codec(BOTTLENECKS[kind]),
        "optim": {"lr": 0.003},
        "train": {"patience": 0},
        "trainer": {"max_epochs": 3, "accelerator": "cpu", "enable_progress_bar": False, "log_every_n_steps": 1},
        "run_dir": str(root / f"codec-{kind}"),
    }  # fmt: skip
    path = root / f"codec-{kind}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    train(path, evaluate=False)
    _CODEC_RUNS[kind] = root / f"codec-{kind}"
    return _CODEC_RUNS[kind]


def generation_config(
    tmp_path: Path, request: pytest.FixtureRequest | None = None, paradigm: str = "autoregressive", **task
) -> Path:
    """A tiny generation experiment on a tiny codec run (``request``: one CPU thread for the test)."""
    if request is not None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        request.addfinalizer(lambda: torch.set_num_threads(threads))
        root = request.getfixturevalue("tmp_path_factory").getbasetemp() / "generation-codecs"
    else:
        root = tmp_path
    root.mkdir(parents=True, exist_ok=True)
    kind = "rvq" if paradigm == "autoregressive" else "ae"
    model = (
        {"d_model": 32, "n_heads": 2, "n_layers": 2, "pattern": "delay"}
        if paradigm == "autoregressive"
        else {"channels": [16, 32], "emb_dim": 32}
    )
    cfg = {
        "task": {
            "name": "generation", "paradigm": paradigm, "codec_run": str(codec_run(root, kind)),
            "n_quantizers": 2, "steps": 4, "pitch_tracker": "none", "report_items": 1, **task,
        },
        "data": {
            "corpus": "notes", "corpus_args": dict(TINY_NOTES), "batch_size": 8, "feature_dtype": "float32",
            "split": {"valid": 0.15, "test": 0.25, "seed": 0},
        },
        "input": {"name": "waveform", "sr": 16000},
        "model": model,
        "optim": {"lr": 0.003},
        "train": {"patience": 0},
        "trainer": {"max_epochs": 3, "accelerator": "cpu", "enable_progress_bar": False, "log_every_n_steps": 1},
        "run_dir": str(tmp_path / "run"),
    }  # fmt: skip
    path = tmp_path / "generation.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def flow_config(tmp_path: Path, request: pytest.FixtureRequest | None = None, **task) -> Path:
    return generation_config(tmp_path, request, paradigm="flow", **task)


#: the contract test's experiments (tests/tasks/test_contract.py)
CONTRACT_CONFIGS = {"generation": generation_config}


def test_split_holds_out_family_pitch_pairs(tmp_path, request):
    task = make_task(load_config(generation_config(tmp_path, request)))
    split = task.make_split()
    pair = lambda k: (task.store.value(k, "family"), task.store.value(k, "pitch"))  # noqa: E731
    train_pairs = {pair(k) for k in split["train"]}
    test_pairs = {pair(k) for k in split["test"]}
    assert test_pairs and not train_pairs & test_pairs
    assert {f for f, _ in test_pairs} <= {f for f, _ in train_pairs}  # each family was heard
    cond = task.conditions_of(task.store, split["test"])
    assert cond.shape == (len(split["test"]), 2) and int(cond[:, 0].min()) >= 48
    assert task.condition(60, "guitar") == [60, FAMILIES.index("guitar")]
    with pytest.raises(ParameterError, match="valid"):
        task.condition(60, "kazoo")
    with pytest.raises(ParameterError, match="0..127"):
        task.condition(130, "guitar")

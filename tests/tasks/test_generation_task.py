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


def _held_out_cross_entropy(task, model, keys) -> float:
    from mir101.paradigms.autoregressive import Autoregressive

    codes = task.encode(task.audio_items(keys))
    terms = Autoregressive(model.eval()).common_step(
        {"codes": codes, "conditions": task.conditions_of(task.store, keys)}, False
    )
    return terms["loss"].item()


def _unigram_cross_entropy(train_codes: torch.Tensor, test_codes: torch.Tensor, size: int) -> float:
    """The baseline: each codebook's token frequencies in training (add-one smoothed), no context."""
    counts = torch.stack(
        [torch.bincount(train_codes[:, k].flatten(), minlength=size) for k in range(train_codes.shape[1])]
    )
    logp = torch.log((counts + 1.0) / (counts + 1.0).sum(dim=1, keepdim=True))  # (K, V)
    k = torch.arange(test_codes.shape[1])[None, :, None].expand_as(test_codes)
    return float(-logp[k, test_codes].mean())


def test_autoregressive_generator_learns_held_out_notes(tmp_path, request):
    """Held-out (family, pitch) pairs: the trained Transformer's token cross-entropy beats its
    untrained self and a per-codebook unigram model of the training tokens."""
    from mir101.tasks import load_run

    config = generation_config(tmp_path, request)
    run = train(config, ["trainer.max_epochs=25", "optim.lr=0.003"], evaluate=False).run_dir
    task, model = load_run(run, check_metrics=False)
    split = task.make_split()
    torch.manual_seed(0)
    untrained = task.build_model()
    trained_ce = _held_out_cross_entropy(task, model, split["test"])
    untrained_ce = _held_out_cross_entropy(task, untrained, split["test"])
    train_codes, test_codes = (task.encode(task.audio_items(split[s])) for s in ("train", "test"))
    unigram = _unigram_cross_entropy(train_codes, test_codes, task.codec.codebook_size)
    assert trained_ce < untrained_ce - 0.3 and trained_ce < unigram, (trained_ce, untrained_ce, unigram)


def test_flow_generator_learns_and_evaluates_against_ceiling_and_floor(tmp_path, request):
    """The flow's held-out loss falls below its untrained self's (a zero velocity); the evaluation
    has the generated, ceiling and floor sets, FD against steps, and reads the same back."""
    from mir101.paradigms.flow import RectifiedFlow
    from mir101.tasks import load_run

    config = flow_config(tmp_path, request, eval_steps=[1, 4])
    result = train(config, ["trainer.max_epochs=25"]).evaluation
    assert set(result.sets) == {"test", "ceiling", "floor"} and set(result.extras["by_steps"]) == {"1", "4"}
    task, model = load_run(tmp_path / "run")
    keys = task.make_split()["test"]
    x0 = model.normalise(task.encode(task.audio_items(keys)))
    cond = task.conditions_of(task.store, keys)

    def held_out_loss(m) -> float:
        torch.manual_seed(0)
        return float(
            RectifiedFlow(m.eval(), p_uncond=0.0).common_step({"x": x0, "conditions": cond}, False)["loss"]
        )

    untrained = task.build_model()
    untrained.load_state_dict({**untrained.state_dict(), "mean": model.mean, "std": model.std})
    assert held_out_loss(model) < 0.8 * held_out_loss(untrained)

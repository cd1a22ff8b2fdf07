"""Auto-tagging (``tagging``): pooling by config, every row of configs/tagging trains, learning.

The tiny chorale corpus (4 chorales x 2 renditions, two ensembles, fast tempi) is built once into
the test cache and shared with the contract test (``tagging_config``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from mir101.config import load_config
from mir101.errors import ConfigError
from mir101.tasks import EvalResult, evaluate_run, load_run, train
from mir101.tasks.runner import make_task
from mir101.tasks.tagging import POOLINGS, probabilities, top_labels, with_pooling

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs" / "tagging"

#: the tiny chorale corpus of these tests: every chorale played by both ensembles, brass and choir
#: (GM families brass / ensemble: one tag each, so the multi-label test set has positives and
#: negatives of every tag)
TINY_CORPUS = {
    "n": 4,
    "renditions": 2,
    "seed": 0,
    "ensembles": ["brass", "choir"],
    "variation": {"tempo": [140.0, 160.0]},
    "progress": False,
}
#: a small log-mel network: a conv-2D over all 32 bands, a conv-1D over time, AutoPool, a logit per class
TINY_TAGGER = [
    "batchnorm2d",
    {"conv2d": {"out_channels": 8, "kernel_size": [32, 3]}},
    {"squeeze": {"dim": 2}},
    "relu",
    {"conv1d": {"out_channels": 16, "kernel_size": 3}},
    "relu",
    "autopool",
    {"linear": {"out_features": "$n_classes"}},
]


def tagging_config(tmp_path: Path, multilabel: bool = False, **sections) -> Path:
    """A tiny tagging experiment on the tiny chorale corpus: ensembles (multi-class) or instrument
    families (multi-label); ``sections`` update (dicts) or replace the config's sections."""
    cfg = {
        "task": {"name": "tagging", "label": "tag" if multilabel else "ensemble", "multilabel": multilabel},
        "data": {
            "corpus": "chorales",
            "corpus_args": dict(TINY_CORPUS),
            "where": {"role": "mix"},
            "split": {"by": "work_id", "valid": 0.25, "test": 0.25, "seed": 0},
            "patch_frames": 64,
            "patch_hop_frames": 64,
            "batch_size": 8,
        },
        "input": {"name": "logmel", "sr": 22050, "n_fft": 1024, "hop_length": 512, "n_mels": 32},
        "model": {"layers": TINY_TAGGER},
        "optim": {"lr": 0.01},
        "train": {"patience": 0},
        "trainer": {
            "max_epochs": 2,
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "log_every_n_steps": 1,
        },
        "run_dir": str(tmp_path / "run"),
    }
    for k, v in sections.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    path = tmp_path / ("instruments.yaml" if multilabel else "ensemble.yaml")
    path.write_text(yaml.safe_dump(cfg))
    return path


def _contract_tagging(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return tagging_config(tmp_path, multilabel=True)


def _contract_chords(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    from test_tagging_chords import contract_config

    return contract_config(tmp_path, request)


#: the contract experiments of this package's tasks (tests/tasks/test_contract.py runs them)
CONTRACT_CONFIGS = {"tagging": _contract_tagging, "chords": _contract_chords}


# ---------------------------------------------------------------------------- pieces
def test_with_pooling_swaps_the_pooling_layer_only():
    layers = ["relu", {"autopool": {"dim": -1}}, {"linear": {"out_features": 3}}]
    for name, layer in POOLINGS.items():
        out = with_pooling(layers, name)
        assert out[1] == {layer: {"dim": -1}} and out[0] == "relu" and out[2] == layers[2]
    assert layers[1] == {"autopool": {"dim": -1}}  # the original is left alone
    with pytest.raises(ConfigError, match="no pooling-over-time layer"):
        with_pooling(["relu", "flatten"], "mean")
    with pytest.raises(ConfigError, match="must be one of"):
        with_pooling(layers, "median")


def test_probabilities_and_top_labels():
    p = probabilities(np.array([[2.0, 0.0, -1.0]]), multilabel=False)
    assert p.sum() == pytest.approx(1.0) and p.argmax() == 0
    assert top_labels(p[0], ["a", "b", "c"], k=2)[0][0] == "a"


@pytest.mark.parametrize("pooling", sorted(POOLINGS))
def test_pooling_chosen_by_config_builds(pooling, tmp_path):
    cfg = load_config(tagging_config(tmp_path), [f"task.pooling={pooling}"])
    model = make_task(cfg).build_model()
    assert tuple(model.output_shape) == (2,)
    names = [s.name for s in model.steps]
    assert POOLINGS[pooling] in names


# ---------------------------------------------------------------------------- every row trains
def _rows() -> list[Path]:
    """The runnable rows of configs/tagging (files with a model; base.yaml, logmel.yaml... are not)."""
    return sorted(p for p in CONFIGS.glob("*.yaml") if load_config(p).model)


#: few steps of tiny data for every row, by the kind of data the row reads
ROW_OVERRIDES = {
    "chorales": [
        f"data.corpus_args={yaml.safe_dump(TINY_CORPUS, default_flow_style=True).strip()}",
        "data.split.valid=0.25",
        "data.split.test=0.25",
    ],
}
FEW_STEPS = [
    "data.batch_size=4",
    "train.patience=0",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.enable_progress_bar=false",
]


def row_overrides(path: Path, tmp_path: Path) -> list[str]:
    """Overrides that make a row of configs/tagging run a few steps on tiny data."""
    cfg = load_config(path)
    kind = cfg.data.corpus or "store"
    return [*ROW_OVERRIDES.get(kind, []), *FEW_STEPS, f"run_dir={tmp_path / path.stem}"]


@pytest.mark.parametrize(
    "row", [p for p in _rows() if load_config(p).data.corpus == "chorales"], ids=lambda p: p.stem
)
def test_every_chorale_row_trains_a_few_steps(row, tmp_path):
    result = train(row, row_overrides(row, tmp_path), evaluate=False)
    assert (result.run_dir / "model.pt").is_file()
    assert load_config(result.run_dir / "config.yaml").task.name in ("tagging", "chords")


# ---------------------------------------------------------------------------- learning
def test_ensemble_learns_and_reloads(tmp_path):
    """Multi-class: the trained model beats its untrained self and the majority baseline on the
    held-out works; the run reloads to the same metrics."""
    again = {"again": {"corpus": "chorales", "corpus_args": dict(TINY_CORPUS)}}  # a held-out store
    config = tagging_config(tmp_path, trainer={"max_epochs": 3}, data={"test_stores": again})
    result = train(config).evaluation
    assert result is not None and result.primary == "macro_recall"
    # every data.test_stores set is scored on its held-out works (here: the same renditions again)
    assert result.sets["again"] == result.sets["test"]
    task = make_task(load_config(config))
    split = task.make_split()
    untrained = task.evaluate(task.build_model(), split, tmp_path)
    majority = result.extras["baselines"]["majority"]["test"]["macro_recall"]
    assert result.score() > untrained.score() and result.score() > majority, (result.sets, untrained.sets)
    assert result.extras["confusion"]["test"] and result.extras["classes"] == ["brass", "choir"]
    run = tmp_path / "run"
    assert (run / "figures" / "confusion_test.png").is_file() and (
        run / "figures" / "tagogram_test.png"
    ).is_file()
    _task, _model = load_run(run)
    assert evaluate_run(run).sets == result.sets
    assert EvalResult.load(run / "metrics.json").score() == result.score()


def test_instruments_learn(tmp_path):
    """Multi-label: macro ROC-AUC above the tag priors' (0.5) and above the untrained model's."""
    config = tagging_config(tmp_path, multilabel=True, trainer={"max_epochs": 3})
    result = train(config).evaluation
    assert result is not None and result.primary == "roc_auc_macro"
    task = make_task(load_config(config))
    untrained = task.evaluate(task.build_model(), task.make_split(), tmp_path)
    priors = result.extras["baselines"]["tag_priors"]["test"]["roc_auc_macro"]
    assert priors == 0.5
    assert result.score() > untrained.score() and result.score() > priors, (result.sets, untrained.sets)
    per_tag = result.extras["per_tag"]["test"]
    assert set(per_tag) == {"brass", "ensemble"} and all(v["positives"] >= 1 for v in per_tag.values())

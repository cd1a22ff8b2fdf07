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


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread for these tests: tiny models on a shared 2-core machine run several times
    faster so (measured: this file's tests 3x faster under load; a small LSTM call 5 ms instead
    of seconds), and the thread count is restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


#: the tiny notes corpus: nine programs of six families (the corpus holds out one for validation
#: and one for test: 42 cello and 41 viola, whose family, string, is heard in training through 40)
TINY_NOTES = {
    "programs": [0, 1, 4, 40, 41, 42, 68, 71, 73],
    "pitch_range": [48, 73],
    "pitch_step": 3,
    "velocities": [100],
    "progress": False,
}


def _flow(mapping: dict) -> str:
    return yaml.safe_dump(mapping, default_flow_style=True, width=1000).strip()


#: few steps of tiny data for every row, by the kind of data the row reads
ROW_OVERRIDES = {
    "chorales": [f"data.corpus_args={_flow(TINY_CORPUS)}", "data.split.valid=0.25", "data.split.test=0.25"],
    "notes": [f"data.corpus_args={_flow(TINY_NOTES)}"],
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


@pytest.mark.parametrize("row", [p for p in _rows() if load_config(p).data.corpus], ids=lambda p: p.stem)
def test_every_corpus_row_trains_a_few_steps(row, tmp_path):
    result = train(row, row_overrides(row, tmp_path), evaluate=False)
    assert (result.run_dir / "model.pt").is_file()
    assert load_config(result.run_dir / "config.yaml").task.name in ("tagging", "chords")


@pytest.fixture
def rwc_store(tmp_path) -> Path:
    """Like RWC-Pop: ``chord`` segments in Harte syntax (tests/tasks/conftest.py's ``chord_store`` is
    a multi-pitch store)."""
    from test_tagging_chords import make_triad_store

    return make_triad_store(tmp_path / "rwc", n_items=4, seconds=3.0)


#: the rows for the tutorial's stores -> the fixture writing a tiny store in that format
#: (``genre_store``, ``tag_store``: tests/conftest.py)
STORE_ROWS = {"gtzan_lms_conv2d": "genre_store", "mtt_lms_conv2d": "tag_store", "rwc_chords_cqt": "rwc_store"}


def test_every_row_is_run_by_a_test():
    assert {p.stem for p in _rows() if not load_config(p).data.corpus} == set(STORE_ROWS)


@pytest.mark.parametrize("row", sorted(STORE_ROWS))
def test_store_rows_train_on_a_store_in_the_tutorials_format(row, tmp_path, request):
    store = request.getfixturevalue(STORE_ROWS[row])
    path = CONFIGS / f"{row}.yaml"
    result = train(path, [f"data.store={store}", *row_overrides(path, tmp_path)], evaluate=False)
    assert (result.run_dir / "model.pt").is_file()


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


def test_family_holds_out_whole_instruments(tmp_path):
    """The family row on the tiny notes corpus: the corpus's own split, so no program of the test
    notes is heard in training; evaluation scores the held-out instruments' notes."""
    row = CONFIGS / "family_lms_conv2d.yaml"
    result = train(row, row_overrides(row, tmp_path)).evaluation
    assert result is not None
    task, _model = load_run(tmp_path / row.stem)
    split = task.make_split()
    programs = {k: {task.store.value(x, "program") for x in split[k]} for k in split}
    assert programs["test"] and not programs["test"] & programs["train"]
    assert result.sets["test"]["items"] == len(split["test"]) and result.primary == "macro_recall"
    assert "string" in result.extras["classes"]

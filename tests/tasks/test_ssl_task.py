"""Self-supervised learning (``ssl``): pairs, the encoder, probes, every row trains, learning.

The learning test pretrains a small waveform encoder for a few seconds on a small chorale corpus
(6 chorales x 4 ensembles, fast tempi; built once into the test cache) and checks that the probe
on its embeddings beats the probe on the same encoder randomly initialised, on held-out works.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from test_tagging_task import FEW_STEPS, TINY_CORPUS, _flow, tagging_config

from mir101.config import load_config
from mir101.data.pairs import PairDataset
from mir101.errors import ConfigError, ParameterError
from mir101.tasks import EvalResult, train
from mir101.tasks.embedding import LayerSlice, encoder_of, patch_embeddings
from mir101.tasks.runner import make_task
from mir101.tasks.ssl import fraction_name, labelled_subset, probe_table

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs" / "ssl"

#: the corpus of the learning test: four ensembles, every chorale played by each (two held-out works)
SSL_CORPUS = {
    "n": 6,
    "renditions": 4,
    "seed": 0,
    "ensembles": ["brass", "choir", "organ", "strings"],
    "variation": {"tempo": [160.0, 180.0]},
    "progress": False,
}
#: a small waveform encoder at 8 kHz: a strided conv front-end, two conv blocks, a mean over time
TINY_ENCODER = [
    {"conv1d": {"out_channels": 16, "kernel_size": 64, "stride": 16}},
    "batchnorm1d",
    "relu",
    {"maxpool1d": {"kernel_size": 4}},
    {"conv1d": {"out_channels": 32, "kernel_size": 5}},
    "batchnorm1d",
    "relu",
    {"maxpool1d": {"kernel_size": 4}},
    {"conv1d": {"out_channels": 32, "kernel_size": 3}},
    "relu",
    "globalmeanpool",
]


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread (tiny models on a shared machine), restored after each test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def ssl_config(tmp_path: Path, corpus: dict | None = None, **sections) -> Path:
    """A tiny ssl experiment: the tiny encoder on 1-s crops at 8 kHz; ``sections`` update (dicts)
    or replace the config's sections."""
    cfg = {
        "task": {
            "name": "ssl",
            "loss": "ntxent",
            "drop_last": 0,
            "projector": [32],
            "projection_dim": 16,
            "views_per_item": 8,
            "augment": {"p": 0.5},
            "probes": [{"label": "ensemble"}, {"label": "tag", "multilabel": True}],
            "fractions": [0.5, 1.0],
        },
        "data": {
            "corpus": "chorales",
            "corpus_args": dict(corpus or TINY_CORPUS),
            "where": {"role": "mix"},
            "split": {"by": "work_id", "valid": 0.25, "test": 0.25, "seed": 0},
            "patch_frames": 8000,
            "batch_size": 8,
        },
        "input": {"name": "waveform", "sr": 8000},
        "model": {"layers": TINY_ENCODER},
        "optim": {"lr": 0.003},
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
    path = tmp_path / "ssl.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _contract_ssl(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return ssl_config(tmp_path)


#: the contract experiment of this task (tests/tasks/test_contract.py runs it)
CONTRACT_CONFIGS = {"ssl": _contract_ssl}


# ---------------------------------------------------------------------------- pieces
def test_pairs_are_two_crops_of_one_item_and_never_read_labels():
    items = {"a": np.arange(100, dtype=np.float32)[None], "b": 1000 + np.arange(50, dtype=np.float32)[None]}
    ds = PairDataset(
        list(items), items.__getitem__, lambda k: items[k].shape[-1], patch_frames=10, views_per_item=3
    )
    assert len(ds) == 6
    for i in range(len(ds)):
        b = ds[i]
        key = ["a", "b"][int(b["item"])]
        for v in (b["x1"], b["x2"]):
            assert v.shape == (1, 10) and np.all(np.diff(v.numpy()) == 1)  # a contiguous crop
            assert (v.numpy() >= items[key].min()).all() and (v.numpy() <= items[key].max()).all()
    starts = {float(ds[0]["x1"][0, 0]) for _ in range(20)}
    assert len(starts) > 3  # training crops move
    fixed = PairDataset(list(items), items.__getitem__, lambda k: items[k].shape[-1], 10, 3, seed=1)
    assert torch.equal(fixed[2]["x1"], fixed[2]["x1"])  # two reads, the same crops: validation is fixed
    with pytest.raises(ParameterError):
        PairDataset([], items.__getitem__, len, 10)


def test_labelled_subset_keeps_every_class():
    y = np.repeat(np.arange(4), [50, 20, 5, 1])
    idx = labelled_subset(y, 0.01, seed=0)
    assert sorted(set(y[idx])) == [0, 1, 2, 3] and len(idx) == 4
    assert len(labelled_subset(y, 1.0, seed=0)) == len(y)
    assert fraction_name(0.01) == "1%" and fraction_name(1.0) == "100%"
    with pytest.raises(ParameterError):
        labelled_subset(y, 0.0, seed=0)


def test_probe_reads_a_linear_class_and_not_noise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    x = rng.normal(size=(120, 8))
    good = x.copy()
    good[:, 0] += 6 * y
    held = {"test": (good[90:], y[90:])}
    table = probe_table((good[:90], y[:90]), held, [0.1, 1.0])
    noise = probe_table((x[:90], y[:90]), {"test": (x[90:], y[90:])}, [1.0])
    assert table["test"]["100%"]["macro_recall"] > 0.85 > 0.6 > noise["test"]["100%"]["macro_recall"]
    assert table["test"]["10%"]["labelled_items"] == pytest.approx(9, abs=3)


def test_encoder_of_a_tagging_model_drops_its_classifier(tmp_path):
    task = make_task(load_config(tagging_config(tmp_path)))
    model = task.build_model().eval()
    enc = encoder_of(task, model)
    assert isinstance(enc, LayerSlice) and enc.output_shape == (16,)
    x = torch.randn(3, *model.input_shape)
    with torch.no_grad():
        h = enc(x)
        assert torch.allclose(model.net[-1](h), model(x), atol=1e-5)  # the classifier on top of it
    emb, starts = patch_embeddings(
        enc, np.random.default_rng(0).normal(size=(*model.input_shape[:-1], 150)).astype(np.float32), 64
    )
    assert emb.shape == (len(starts), 16)


def test_build_model_and_options_errors(tmp_path):
    cfg = load_config(ssl_config(tmp_path))
    model = make_task(cfg).build_model()
    assert tuple(model.output_shape) == (32,)
    with pytest.raises(ConfigError, match="one vector per patch"):
        make_task(load_config(ssl_config(tmp_path), ["task.drop_last=1"])).build_model()
    with pytest.raises(ConfigError, match="task.loss"):
        make_task(load_config(ssl_config(tmp_path), ["task.loss=triplet"]))
    with pytest.raises(ConfigError, match="fractions"):
        make_task(load_config(ssl_config(tmp_path), ["task.fractions=[0.0,1.0]"]))
    with pytest.raises(ConfigError, match="batch_size"):
        make_task(load_config(ssl_config(tmp_path), ["data.batch_size=1"]))
    with pytest.raises(ConfigError, match="waveform"):
        make_task(load_config(ssl_config(tmp_path, input={"name": "logmel", "sr": 8000})))


# ---------------------------------------------------------------------------- every row trains
@pytest.mark.parametrize(
    "row", sorted(p for p in CONFIGS.glob("*.yaml") if p.stem != "base"), ids=lambda p: p.stem
)
def test_every_row_trains_a_few_steps(row, tmp_path):
    overrides = [
        f"data.corpus_args={_flow(TINY_CORPUS)}",
        "data.split.valid=0.25",
        "data.split.test=0.25",
        "task.views_per_item=1",
        *FEW_STEPS,
        f"run_dir={tmp_path / row.stem}",
    ]
    result = train(row, overrides, evaluate=False)
    assert (result.run_dir / "model.pt").is_file()
    cfg = load_config(result.run_dir / "config.yaml")
    assert cfg.task.name == "ssl" and cfg.task.loss in ("ntxent", "vicreg")
    log = (result.run_dir / "logs" / "metrics.csv").read_text().splitlines()[0]
    assert all(f"train/{m}" in log for m in ("loss", "embedding_std", "alignment", "uniformity"))


# ---------------------------------------------------------------------------- learning
def test_ssl_probe_beats_the_random_encoder_probe(tmp_path):
    """A few seconds of NT-Xent pretraining: the probes on held-out works beat those of the same
    encoder randomly initialised (measured: ensemble 0.58 vs 0.38 with 10 % of the labels, 0.62 vs
    0.50 with all of them)."""
    config = ssl_config(
        tmp_path,
        corpus=SSL_CORPUS,
        data={"split": {"by": "work_id", "valid": 0.17, "test": 0.34, "seed": 0}},
        task={"fractions": [0.1, 1.0], "probe_repeats": 5},
        trainer={"max_epochs": 6},
    )
    result = train(config).evaluation
    assert isinstance(result, EvalResult)
    ssl, rnd = result.sets["test"], result.extras["baselines"]["random_init"]["test"]
    assert ssl["items"] == 8
    keys = ["ensemble_recall@10%", "ensemble_recall@100%"]
    gain = np.mean([ssl[k] - rnd[k] for k in keys])
    assert gain >= 0.1, (ssl, rnd)
    assert ssl["embedding_std"] > rnd["embedding_std"]  # the embeddings spread out


def test_a_probe_on_another_store_uses_its_own_split(tmp_path):
    """The note-family probe: the notes corpus (its split holds out whole instruments) probed by an
    encoder of the chorale task."""
    from test_tagging_task import TINY_NOTES

    notes = {"label": "family", "corpus": "notes", "corpus_args": dict(TINY_NOTES)}
    cfg = load_config(ssl_config(tmp_path, task={"probes": [{"label": "ensemble"}, notes]}))
    task = make_task(cfg)
    split = task.make_split()
    problems = task.probe_problems(split)
    family = problems[1]
    own = family.store.document["mir101"]["split"]
    assert set(family.train) <= set(own["train"]) and set(family.held_out["test"][1]) <= set(own["test"])
    programs = {family.store.value(k, "program") for k in family.held_out["test"][1]}
    assert programs.isdisjoint({family.store.value(k, "program") for k in family.train})
    scores, tables, _ = task.probe({"random_init": task.random_encoder()}, split)
    row = scores["random_init"]["test"]
    assert {"ensemble_recall@100%", "family_recall@100%", "family_recall@50%"} <= set(row)
    assert 0.0 <= row["family_recall@100%"] <= 1.0 and set(tables) == {"ensemble", "family"}

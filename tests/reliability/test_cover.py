"""Bad inputs of the cover task: stores without cliques, foreign or damaged index files, runs of
another task, a query too short, a deep-chroma input without its run.

Each case goes through the command line and gets exit status 2 and one line naming the culprit.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mir101.tasks import train


def _cover_module():
    """The tiny cover experiment of tests/tasks/test_cover_task.py (one definition of it)."""
    path = Path(__file__).resolve().parents[1] / "tasks" / "test_cover_task.py"
    spec = importlib.util.spec_from_file_location("cover_task_experiment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cover = _cover_module()


@pytest.fixture(scope="module")
def cover_run(tmp_path_factory):
    """A tiny cover run (one epoch of two batches), its store and an index of the store."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("cover-run")
    store = cover.make_cover_store(tmp / "cliques", n_works=6)
    try:
        cfg = cover.cover_config(tmp, store, task={"p": 3, "k": 2, "batches_per_epoch": 2, "baseline": False},
                                 trainer={"max_epochs": 1})  # fmt: skip
        train(cfg, evaluate=False)
    finally:
        torch.set_num_threads(threads)
    return tmp / "run", store


@pytest.fixture(scope="module")
def query(tmp_path_factory):
    path = tmp_path_factory.mktemp("query") / "q.wav"
    sf.write(path, (0.2 * np.sin(np.linspace(0, 3000, 44100))).astype(np.float32), 22050)
    return path


def test_index_and_search_work(cover_run, query, tmp_path, cli_ok):
    run, store = cover_run
    cli_ok(["cover", "index", run, store, "--out", tmp_path / "i.npz"])
    cli_ok(["cover", "search", run, query, "--against", tmp_path / "i.npz", "--backend", "numpy"])


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"\x00garbage" * 50),
        lambda p: np.savez(p.open("wb"), x=np.zeros(3)),
        lambda p: p.write_bytes(b""),
    ],
    ids=["garbage", "another-npz", "empty"],
)
def test_damaged_index_files(cover_run, query, tmp_path, cli_error, damage):
    run, _ = cover_run
    bad = tmp_path / "bad.npz"
    damage(bad)
    msg = cli_error(["cover", "search", run, query, "--against", bad])
    assert str(bad) in msg and "embedding index" in msg
    msg = cli_error(["predict", "cover", run, query, "--against", bad, "--out", tmp_path / "p"])
    assert str(bad) in msg


def test_an_index_of_another_dimension_is_refused(cover_run, query, tmp_path, cli_error):
    from mir101.tasks.cover import EmbeddingIndex

    run, _ = cover_run
    path = EmbeddingIndex(np.zeros((3, 5), np.float32), ["a", "b", "c"], ["w"] * 3, ["t"] * 3).save(
        tmp_path / "i.npz"
    )
    msg = cli_error(["cover", "search", run, query, "--against", path])
    assert "dimension 5" in msg and "mir101 cover index" in msg


def test_a_store_without_cliques_cannot_train(tmp_path, cli_error):
    from mir101.data.store import StoreWriter

    with StoreWriter(tmp_path / "plain", definition={"role": {"type": "global"}}) as w:
        for i in range(6):
            w.add(f"x{i}", (0.1 * np.random.default_rng(i).standard_normal(22050)).astype(np.float32), 22050,
                  {"role": [{"value": "mix"}]})  # fmt: skip
    cfg = cover.cover_config(
        tmp_path, tmp_path / "plain", data={"split": {"by": "chorale", "valid": 0.2, "test": 0.34, "seed": 0}}
    )
    msg = cli_error(["train", cfg])
    assert "work_id" in msg and "x" in msg


def test_runs_of_another_task_and_short_queries(cover_run, trained_run, query, tmp_path, cli_error):
    run, store = cover_run
    assert "not a cover one" in cli_error(["cover", "index", trained_run, store])
    msg = cli_error(
        ["predict", "multipitch", trained_run, query, "--against", store, "--out", tmp_path / "p"]
    )
    assert "--against is for the cover task" in msg
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(100, np.float32), 22050)
    msg = cli_error(["cover", "search", run, short])
    assert "shorter than one frame" in msg
    assert "--top 0" in cli_error(["cover", "search", run, query, "--top", "0"])


def test_deep_chroma_needs_a_multipitch_run(cover_run, trained_run, tmp_path, cli_error):
    _, store = cover_run
    cfg = cover.cover_config(tmp_path, store, input={"name": "deepchroma", "run": str(tmp_path / "none")})
    assert "no trained run folder" in cli_error(["train", cfg])
    run, _ = cover_run
    cfg = cover.cover_config(tmp_path, store, input={"name": "deepchroma", "run": str(run)})
    assert "deep chroma needs a multipitch one" in cli_error(["train", cfg])


def test_deep_melody_options_are_checked(cover_run, tmp_path, cli_error):
    _, store = cover_run
    for bad, match in [
        ({"voice": "bass"}, "input.voice='bass' must be one of"),
        ({"threshold": 1.5}, "input.threshold=1.5 must lie between 0 and 1"),
        ({"octave": 2}, "input 'deepchroma' takes 'run'"),
    ]:
        cfg = cover.cover_config(tmp_path, store, input={"name": "deepchroma", "run": "pretrained", **bad})
        assert match in cli_error(["train", cfg])

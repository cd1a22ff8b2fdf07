"""What a newcomer meets following the README (issue 14): outputs that never collide, one-line
errors for a GPU that is not there, readable verbosity, commands that work from any folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mir101.cli.run import output_stems
from mir101.config import load_config
from mir101.tasks.base import open_store
from tinyrun import SR, tone, write_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def songs(tmp_path) -> list[Path]:
    """The same song in three formats, in two folders: five inputs, five distinct outputs."""
    x = np.concatenate([tone(60, 1.0), tone(64, 1.0)])
    paths = [tmp_path / "song.wav", tmp_path / "song.flac", tmp_path / "song.ogg"]
    for p in paths:
        sf.write(p, x, SR)
    (tmp_path / "other").mkdir()
    sf.write(tmp_path / "other" / "song.wav", x[::-1].copy(), SR)
    return [*paths, tmp_path / "other" / "song.wav"]


def test_predict_never_overwrites_its_own_outputs(trained_run, songs, tmp_path, cli_ok, cli_error):
    out = tmp_path / "pred"
    lines = cli_ok(["predict", "multipitch", trained_run, *songs, "--out", out]).strip().splitlines()
    written = [json.loads(line)["midi"] for line in lines]
    assert len(set(written)) == len(songs) and all(Path(p).is_file() for p in written), written
    assert len(list(out.glob("*.mid"))) == len(songs)
    # a second call into the same folder: refused in one line, nothing replaced
    before = {p: p.read_bytes() for p in out.iterdir()}
    msg = cli_error(["predict", "multipitch", trained_run, *songs, "--out", out])
    assert "exists already" in msg and "--overwrite" in msg
    assert {p: p.read_bytes() for p in out.iterdir()} == before
    cli_ok(["predict", "multipitch", trained_run, *songs, "--out", out, "--overwrite"])
    assert sorted(out.iterdir()) == sorted(before)  # replaced, nothing added, no temporary left


def test_output_stems_are_distinct():
    names = ["a/song.wav", "a/song.flac", "b/song.wav", "c/x.wav"]
    stems = output_stems(names)
    assert len(set(stems)) == len(names) and stems[-1] == "x"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
@pytest.mark.parametrize("override", ["trainer.accelerator=gpu", "trainer.accelerator=cuda", "trainer.strategy=nonsense", "trainer.precision=bogus"])
def test_a_trainer_lightning_refuses_is_one_line(tiny_store, tmp_path, cli_error, override):
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run")
    msg = cli_error(["train", cfg, override])
    assert "trainer" in msg and override.split("=")[1] in msg, msg


def _stderr_lines(args: list[str], cwd: Path) -> list[str]:
    r = subprocess.run([sys.executable, "-m", "mir101", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stderr.splitlines()


def test_verbosity_levels_say_more_step_by_step_and_never_flood(tmp_path):
    args = ["data", "info", str(REPO / "tests")]  # fails fast? no: use a real command below
    del args
    store_dir = tmp_path / "corpus"
    r = subprocess.run(
        [sys.executable, "-m", "mir101", "data", "chorales", "--n", "1", "--renditions", "1", "--sr", "8000",
         "--tempo", "200,200", "--workers", "1", "--quiet", "--out", str(store_dir)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    plain = _stderr_lines(["data", "info", str(store_dir)], tmp_path)
    v2 = _stderr_lines(["-vv", "data", "info", str(store_dir)], tmp_path)
    v3 = _stderr_lines(["-vvv", "data", "info", str(store_dir)], tmp_path)
    foreign = lambda lines: [x for x in lines if x.startswith("DEBUG") and " mir101" not in x]  # noqa: E731
    assert not foreign(plain) and not foreign(v2), foreign(v2)[:5]
    assert len(v3) >= len(v2) >= len(plain)


def test_data_info_accepts_the_folder_given_to_out(tmp_path, cli_ok):
    cli_ok(["data", "chorales", "--n", "1", "--renditions", "1", "--sr", "8000", "--tempo", "200,200",
            "--workers", "1", "--quiet", "--out", tmp_path / "corpus"])  # fmt: skip
    out = cli_ok(["data", "info", tmp_path / "corpus"])
    assert "items" in out


def test_model_show_by_name_from_another_folder(tmp_path, monkeypatch, cli_ok):
    monkeypatch.chdir(tmp_path)
    assert "parameters" in cli_ok(["model", "show", "deep_salience_small"]).lower()


def test_a_users_store_replaces_the_rows_corpus_without_more_keys(tiny_store):
    cfg = load_config(REPO / "configs" / "multipitch" / "hcqt_conv2d.yaml", [f"data.store={tiny_store}"])
    assert cfg.data.corpus == "chorales"  # still in the row...
    store = open_store(cfg.data)  # ...but the user's store is the one opened
    assert Path(store.pyjama_path).with_suffix("") == Path(tiny_store)


def test_train_out_names_the_run_folder(tiny_store, tmp_path, cli_ok):
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "ignored", trainer={"max_epochs": 1})
    cli_ok(["train", cfg, "--out", tmp_path / "mine", "--no-eval"])
    assert (tmp_path / "mine" / "model.pt").is_file() and not (tmp_path / "ignored").exists()

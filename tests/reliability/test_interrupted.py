"""Work killed half-way (SIGKILL: no handler runs) leaves no file a later run would trust, and the
later run rebuilds what a clean run builds.

The kill and resume of training is tests/tasks/test_scale_and_resume.py
(``test_kill_and_resume_matches_an_uninterrupted_run``: same number of epochs, same test metrics
and threshold as an uninterrupted run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from mir101.cli import main
from mir101.data.store import Store
from mir101.errors import StoreError
from mir101.inputs import FeatureCache, HarmonicCQT
from tinyrun import make_store

CORPUS = ["data", "chorales", "--n", "2", "--tempo", "180,200", "--sr", "8000", "--workers", "1", "--quiet"]
HCQT = {"fmin": 65.41, "n_octaves": 4, "bins_per_semitone": 1, "harmonics": (1, 2, 3)}


def _kill_when_told(code: str, cwd: Path, timeout: float = 120.0) -> None:
    """Run ``code`` in a new Python; SIGKILL it as soon as it prints ``KILL ME`` (it then sleeps)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:  # blocks until the child prints
            if line.strip() == "KILL ME":
                os.kill(proc.pid, signal.SIGKILL)
                break
        else:
            pytest.fail(f"the build ended before it could be killed: {proc.stderr.read()[-2000:]}")
        assert proc.wait(timeout=timeout) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()


def _same_store(a: Path, b: Path) -> None:
    with Store(a) as sa, Store(b) as sb:
        assert sa.keys == sb.keys and sa.entries == sb.entries
        for key in sa.keys:
            xa, ra = sa.audio(key)
            xb, rb = sb.audio(key)
            assert ra == rb and np.array_equal(xa, xb), key


def test_killed_corpus_build_is_rebuilt(tmp_path, cli_ok):
    out = tmp_path / "corpus"
    _kill_when_told(
        f"""
        import sys, time
        import mir101.data.corpora.chorales as chorales
        from mir101.cli import main
        render, calls = chorales.render_chorale, []

        def render_then_wait(job):
            calls.append(job)
            if len(calls) == 2:  # the first chorale's five items are in the temporary file
                print("KILL ME", flush=True)
                time.sleep(600)
            return render(job)

        chorales.render_chorale = render_then_wait
        sys.exit(main({[*CORPUS, "--out", str(out)]!r}))
        """,
        tmp_path,
    )
    left = sorted(p.name for p in out.iterdir())
    assert "chorales.pyjama" not in left and "chorales.hdf5" not in left, left
    assert any(name.startswith(".chorales.hdf5.tmp-") for name in left), left  # what was killed
    with pytest.raises(StoreError, match="store file not found"):
        Store(out / "chorales")
    # the same command again builds the whole store, as a clean build elsewhere does
    cli_ok([*CORPUS, "--out", out])
    cli_ok(["data", "validate", out / "chorales"])
    cli_ok([*CORPUS, "--out", tmp_path / "clean"])
    _same_store(out / "chorales", tmp_path / "clean" / "chorales")
    assert json.loads((out / "chorales.pyjama").read_text())["mir101"]["items"] == 10


def test_killed_feature_cache_is_rebuilt(tmp_path):
    store = make_store(tmp_path / "s" / "chords", n_items=6, seconds=1.0)
    path = tmp_path / "features.hdf5"
    _kill_when_told(
        f"""
        import time
        from mir101.data.store import Store
        from mir101.inputs import FeatureCache, HarmonicCQT
        calls = []
        forward = HarmonicCQT.forward

        def forward_then_wait(self, x):
            calls.append(x.shape)
            if len(calls) == 3:  # two batches are in the temporary file
                print("KILL ME", flush=True)
                time.sleep(600)
            return forward(self, x)

        HarmonicCQT.forward = forward_then_wait
        FeatureCache(Store({str(store)!r}), HarmonicCQT(**{HCQT!r}), path={str(path)!r}, batch_seconds=1.0, progress=False)
        """,
        tmp_path,
    )
    assert not path.exists()
    assert [p.name for p in tmp_path.glob(".features.hdf5.tmp-*")]  # the half file, never read
    again = FeatureCache(Store(store), HarmonicCQT(**HCQT), path=path, progress=False)
    clean = FeatureCache(Store(store), HarmonicCQT(**HCQT), path=tmp_path / "clean.hdf5", progress=False)
    assert again.built and again.keys == clean.keys
    for key in clean.keys:
        np.testing.assert_array_equal(again(key), clean(key))


def test_a_damaged_feature_cache_is_rebuilt(tmp_path, caplog):
    """A cache file that is not what it claims (copied half-way, disk error) is never trusted."""
    store = make_store(tmp_path / "s" / "chords", n_items=2, seconds=0.5)
    first = FeatureCache(Store(store), HarmonicCQT(**HCQT), path=tmp_path / "f.hdf5", progress=False)
    expected = first(first.keys[0])
    first.close()
    data = (tmp_path / "f.hdf5").read_bytes()
    (tmp_path / "f.hdf5").write_bytes(data[: len(data) // 2])
    again = FeatureCache(Store(store), HarmonicCQT(**HCQT), path=tmp_path / "f.hdf5", progress=False)
    assert again.built and "rebuilding it" in caplog.text
    np.testing.assert_array_equal(again(again.keys[0]), expected)


def test_model_pt_is_never_half_written(tmp_path, monkeypatch):
    """A failure (or kill) while saving the weights leaves the previous model.pt whole."""
    from mir101.tasks import runner

    torch.save({"state_dict": {"w": torch.ones(2)}}, tmp_path / "model.pt")
    before = (tmp_path / "model.pt").read_bytes()

    def save_half(obj, f):
        Path(f).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner.torch, "save", save_half)
    with pytest.raises(OSError, match="No space left"):
        runner._save_model(torch.nn.Linear(2, 2), runner.load_config(None), tmp_path)
    assert (tmp_path / "model.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_interrupted_corpus_leftovers_do_not_confuse_info(tmp_path, cli_error):
    """Only the temporary file of a killed build is there: the store is reported missing."""
    (tmp_path / ".chorales.hdf5.tmp-0123abcd").write_bytes(b"\x89HDF half")
    assert cli_error(["data", "info", tmp_path / "chorales"]).startswith("store file not found")


def test_store_writer_killed_before_the_pyjama(tmp_path):
    """The HDF5 is moved into place before the pyjama: an HDF5 without its pyjama is not a store."""
    with h5py.File(tmp_path / "s.hdf5", "w") as f:
        f["a"] = np.zeros(10, np.float32)
    with pytest.raises(StoreError, match=r"store file not found: .*s\.pyjama"):
        Store(tmp_path / "s")
    assert main(["data", "validate", str(tmp_path / "s")]) == 2

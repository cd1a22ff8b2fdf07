"""The shipped multi-pitch model and ``mir101 transcribe`` (inference only: no training here,
except a tiny run exported as a model folder)."""

import json
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import torch

from mir101.cli import main
from mir101.config import load_config
from mir101.errors import ConfigError
from mir101.tasks.multipitch.decoding import write_midi_minimal
from mir101.tasks.multipitch.pretrained import FILES, MAX_BYTES, PRETRAINED_DIR, export_run, load_pretrained
from mir101.tasks.runner import load_checkpoint, make_task, train

SR = 22050


def _tones(pitches_by_segment: list[tuple[int, ...]], seconds: float = 1.0) -> np.ndarray:
    """Sustained harmonic tones (8 partials, 1/h amplitudes, short fades), one chord per segment."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    fade = np.minimum(1.0, np.minimum(np.arange(n), n - 1 - np.arange(n)) / (0.02 * SR))
    out = []
    for chord in pitches_by_segment:
        x = np.zeros(n)
        for m in chord:
            f0 = 440.0 * 2 ** ((m - 69) / 12)
            x += sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 9) if f0 * h < SR / 2)
        out.append(0.2 * x * fade / max(len(chord), 1))
    return np.concatenate(out).astype(np.float32)


def test_the_package_ships_a_small_model_read_with_weights_only():
    for name in (*FILES, "split.json", "TRAINING.md"):
        assert (PRETRAINED_DIR / name).is_file(), name
    assert (PRETRAINED_DIR / "model.pt").stat().st_size <= MAX_BYTES
    payload = load_checkpoint(PRETRAINED_DIR / "model.pt")  # torch.load(weights_only=True)
    assert set(payload) == {"state_dict"}
    assert "mir101 train configs/multipitch/pretrained.yaml" in (PRETRAINED_DIR / "TRAINING.md").read_text()
    metrics = json.loads((PRETRAINED_DIR / "metrics.json").read_text())
    assert {"test", "other_soundfont"} <= set(metrics["sets"])


def test_transcribe_a_file_with_the_shipped_model(tmp_path):
    """End to end on a file written here: C4+G4 for a second, then E4+B4+D5: the notes come back."""
    wav = tmp_path / "song.wav"
    audio = _tones([(60, 67), (64, 71, 74)])
    sf.write(wav, np.stack([audio, audio], 1), SR)  # stereo: mixed down
    out = tmp_path / "out"
    assert main(["transcribe", str(wav), "--out", str(out)]) == 0
    rows = [r.split("\t") for r in (out / "song.pitches.csv").read_text().strip().splitlines()]
    assert len(rows) > 80 and all(float(r[0]) >= 0 for r in rows)
    notes = pretty_midi.PrettyMIDI(str(out / "song.mid")).instruments[0].notes
    first = {n.pitch for n in notes if n.start < 0.3 and n.end > 0.7}
    second = {n.pitch for n in notes if 0.9 <= n.start < 1.3 and n.end > 1.7}
    assert {60, 67} <= first and len(first) <= 3, first
    assert {64, 71, 74} <= second and len(second) <= 4, second
    assert (out / "song.pianoroll.png").stat().st_size > 0
    # an existing output is not replaced without --overwrite
    assert main(["transcribe", str(wav), "--out", str(out)]) == 2
    assert main(["transcribe", str(wav), "--out", str(out), "--overwrite", "--threshold", "0.9"]) == 0


def test_a_run_exported_as_a_model_folder_transcribes(chord_store, tmp_path, write_config):
    run = train(
        write_config(tmp_path / "e.yaml", chord_store, tmp_path / "run", trainer={"max_epochs": 1})
    ).run_dir
    folder = export_run(run, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == sorted([*FILES, "split.json", "TRAINING.md"])
    task, model, threshold = load_pretrained(folder)
    assert task.name == "multipitch" and 0 < threshold < 1 and not model.training
    wav = tmp_path / "a.wav"
    sf.write(wav, _tones([(60,)], 0.5), SR)
    assert main(["transcribe", str(wav), "--model", str(folder), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "a.mid").is_file()
    # training longer from it: task.init_weights starts training from these weights
    warm_task = make_task(load_config(run / "config.yaml", [f"task.init_weights={folder}"]))
    warm = warm_task.build_model()
    warm_task.system(warm)
    assert all(torch.equal(warm.state_dict()[k], v) for k, v in model.state_dict().items())
    bad = make_task(load_config(run / "config.yaml", [f"task.init_weights={tmp_path / 'none.pt'}"]))
    with pytest.raises(ConfigError, match="init_weights"):
        bad.system(bad.build_model())


def test_the_minimal_midi_writer_round_trips(tmp_path):
    notes = [(0.0, 0.5, 60), (0.25, 1.0, 64), (0.5, 0.75, 60), (1.5, 2.25, 67)]
    path = tmp_path / "n.mid"
    write_midi_minimal(notes, path, program=40)
    inst = pretty_midi.PrettyMIDI(str(path)).instruments[0]
    got = sorted((round(n.start, 3), round(n.end, 3), n.pitch) for n in inst.notes)
    assert got == sorted(notes) and inst.program == 40


@pytest.mark.slow
def test_an_installed_wheel_transcribes_offline(tmp_path):
    """``pip install`` of the package (a wheel of this tree, no dependencies fetched), then
    ``mir101 transcribe`` from outside the repository: the shipped model is package data."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", str(root), "-w", str(tmp_path / "w")], check=True
    )
    wheel = next((tmp_path / "w").glob("mir101-*.whl"))
    import zipfile

    # the chorale catalogue ships too (a fresh machine skips indexing the chorales)
    shipped = zipfile.ZipFile(wheel).namelist()
    assert "mir101/data/corpora/chorale_catalogue.json.gz" in shipped
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(tmp_path / "site"), str(wheel)],
        check=True,
    )
    wav = tmp_path / "song.wav"
    sf.write(wav, _tones([(60, 67)]), SR)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "mir101", "transcribe", str(wav), "--out", str(tmp_path / "out")]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    res = json.loads(done.stdout.strip().splitlines()[-1])
    assert res["notes"] >= 2 and (tmp_path / "out" / "song.mid").is_file()
    where = "from mir101.tasks.multipitch.pretrained import PRETRAINED_DIR as d; print(d)"
    done = subprocess.run(
        [sys.executable, "-c", where], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert Path(done.stdout.strip()).is_relative_to(tmp_path / "site"), done.stdout

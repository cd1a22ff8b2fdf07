"""``mir101 transcribe`` with mistakes: each fails in one line naming the culprit, before any work
where it can; silence and odd files that are still audio are transcribed (to no notes)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import soundfile as sf

SR = 22050


def test_missing_or_odd_inputs_fail_in_one_line(cli_error, trained_run, tmp_path):
    wav = tmp_path / "ok.wav"
    sf.write(wav, np.zeros(SR, np.float32), SR)
    model = ["--model", trained_run]
    assert "no such audio file" in cli_error(["transcribe", tmp_path / "nothing.wav", *model])
    (tmp_path / "afile").write_text("x")
    assert "is a file" in cli_error(["transcribe", wav, "--out", tmp_path / "afile", *model])
    for bad in ("0", "1.5"):
        assert "--threshold" in cli_error(["transcribe", wav, "--threshold", bad, *model])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no pretrained model here" in cli_error(["transcribe", wav, "--model", empty])
    broken = tmp_path / "broken"
    shutil.copytree(trained_run, broken)
    (broken / "model.pt").write_bytes(b"not a checkpoint")
    assert "model.pt" in cli_error(["transcribe", wav, "--model", broken])
    junk = tmp_path / "junk.wav"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    assert "junk.wav" in cli_error(["transcribe", junk, *model, "--out", tmp_path / "o"])
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(10, np.float32), SR)
    assert "shorter than one frame" in cli_error(["transcribe", short, *model, "--out", tmp_path / "o"])


def test_silence_gives_no_notes(cli_ok, trained_run, tmp_path):
    wav = tmp_path / "silence.flac"
    sf.write(wav, np.zeros(2 * SR, np.float32), SR)
    out = json.loads(cli_ok(["transcribe", wav, "--model", trained_run, "--out", tmp_path / "o"]))
    assert out["notes"] == 0 and (tmp_path / "o" / "silence.mid").is_file()


HOSTILE = {
    "empty": b"",
    "random bytes": np.random.default_rng(18).bytes(3000),
    "deep brackets": b"[" * 100_000,
    "a JSON list": b"[1, 2, 3]\n",
}


def test_hostile_model_files_fail_in_one_line(cli_error, trained_run, tmp_path):
    """Each file of a model folder replaced by a hostile payload: one line naming the file."""
    wav = tmp_path / "ok.wav"
    sf.write(wav, np.zeros(SR, np.float32), SR)
    for i, (pname, payload) in enumerate(HOSTILE.items()):
        for name in ("config.yaml", "model.pt", "metrics.json"):
            folder = tmp_path / f"m{i}-{name}"
            shutil.copytree(trained_run, folder)
            (folder / name).write_bytes(payload)
            msg = cli_error(["transcribe", wav, "--model", folder, "--out", tmp_path / "o"])
            assert name in msg or str(folder) in msg, (pname, name, msg)

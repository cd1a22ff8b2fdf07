"""Audio files a user may hand to ``mir101 predict`` and to :func:`mir101.data.audio.load_audio`.

Bad files get one error naming the file; what can be repaired safely (channels, sample rate, a
truncated WAV) is repaired and logged; valid but unusual audio (silence, 8 bits, shorter than a
patch, ten minutes) just works.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mir101.data.audio import load_audio
from mir101.errors import AudioError
from tinyrun import SR, tone


def _wav(path: Path, x: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> Path:
    sf.write(path, x, sr, subtype=subtype)
    return path


def _with_bad_sample(value: float):
    def write(p: Path) -> Path:
        x = tone(60, 1.0)
        x[2205] = value
        return _wav(p, x, subtype="FLOAT")

    return write


def _directory(p: Path) -> Path:
    p.mkdir()
    return p


def _bytes(data: bytes):
    def write(p: Path) -> Path:
        p.write_bytes(data)
        return p

    return write


def _first_bytes(n: int):
    def write(p: Path) -> Path:
        full = _wav(p.with_name("full.wav"), tone(60, 1.0))
        p.write_bytes(full.read_bytes()[:n])
        return p

    return write


#: (case, file name, writer, what the one error line says besides the file name)
BAD_AUDIO = [
    ("empty file", "empty.wav", _bytes(b""), "the file is empty (0 bytes)"),
    ("no samples", "nothing.wav", lambda p: _wav(p, np.zeros(0, np.float32)), "no samples"),
    ("corrupt bytes", "noise.wav", _bytes(np.random.default_rng(0).bytes(4000)), "cannot read audio"),
    ("header cut", "cut.wav", _first_bytes(30), "cannot read audio"),
    ("text as flac", "notes.flac", _bytes(b"these are not samples\n" * 20), "cannot read audio"),
    ("NaN sample", "nan.wav", _with_bad_sample(np.nan), "NaN or inf sample(s), the first at 0.100 s"),
    ("inf sample", "inf.wav", _with_bad_sample(np.inf), "NaN or inf sample(s), the first at 0.100 s"),
    ("shorter than a frame", "click.wav", lambda p: _wav(p, tone(60, 0.004)), "shorter than one frame"),
    ("missing", "missing.wav", lambda p: p, "not found"),
    ("a folder", "folder.wav", _directory, "not found"),
]


@pytest.mark.parametrize(
    ("name", "writer", "expected"), [c[1:] for c in BAD_AUDIO], ids=[c[0] for c in BAD_AUDIO]
)
def test_predict_rejects_bad_audio_in_one_line(trained_run, tmp_path, cli_error, name, writer, expected):
    path = writer(tmp_path / name)
    msg = cli_error(["predict", "multipitch", trained_run, path, "--out", tmp_path / "out"])
    assert str(path) in msg and expected in msg, msg
    assert not list((tmp_path / "out").glob("*.csv"))


def _predict(cli_ok, run: Path, audio: Path, out: Path) -> dict:
    return json.loads(cli_ok(["predict", "multipitch", run, audio, "--out", out]).strip().splitlines()[-1])


def test_silence_is_valid_audio_and_gives_no_notes(trained_run, tmp_path, cli_ok):
    res = _predict(cli_ok, trained_run, _wav(tmp_path / "silence.wav", np.zeros(2 * SR)), tmp_path)
    assert res["notes"] == 0
    rows = Path(res["pitches_csv"]).read_text().splitlines()
    assert len(rows) == 1 + 2 * SR // 512 and all("\t" not in r for r in rows)  # times, no pitch
    fifth = _predict(
        cli_ok, trained_run, _wav(tmp_path / "fifth.wav", tone(60, 2.0) + tone(67, 2.0)), tmp_path
    )
    assert fifth["notes"] > 0  # the same model does hear notes: the silence case is not vacuous


def test_stereo_at_another_rate_is_mixed_resampled_and_logged(trained_run, tmp_path, cli_ok, caplog):
    x = tone(64, 1.0, sr=44100)
    path = _wav(tmp_path / "stereo44.wav", np.stack([x, 0.5 * x], axis=1), sr=44100)
    with caplog.at_level(logging.INFO, logger="mir101"):
        res = _predict(cli_ok, trained_run, path, tmp_path)
    assert "2 channels mixed down to mono" in caplog.text
    assert "resampled from 44100 Hz to 22050 Hz" in caplog.text
    assert len(Path(res["pitches_csv"]).read_text().splitlines()) == 1 + SR // 512


def test_eight_bit_audio_works(trained_run, tmp_path, cli_ok):
    """8-bit audio is read at its scale: a fifth in 8 bits gives the notes the same fifth gives in
    16 bits (the MIDI file holds them) and the same pitch rows, up to quantization noise."""
    import pretty_midi

    x = tone(60, 2.0) + tone(67, 2.0)
    ref = _predict(cli_ok, trained_run, _wav(tmp_path / "pcm16.wav", x), tmp_path / "pcm16")
    res = _predict(cli_ok, trained_run, _wav(tmp_path / "u8.wav", x, subtype="PCM_U8"), tmp_path / "u8")

    def pitches(r: dict) -> list[int]:
        return sorted(n.pitch for i in pretty_midi.PrettyMIDI(r["midi"]).instruments for n in i.notes)

    assert res["notes"] == ref["notes"] > 0 and pitches(res) == pitches(ref), (pitches(res), pitches(ref))
    rows = [Path(r["pitches_csv"]).read_text().splitlines() for r in (res, ref)]
    same = np.mean([a == b for a, b in zip(*rows)])
    assert len(rows[0]) == len(rows[1]) and same > 0.9, same


def test_shorter_than_one_patch_is_padded(trained_run, tmp_path, cli_ok):
    """4 frames of audio for a model trained on 64-frame patches: one padded patch, 4 rows out."""
    res = _predict(cli_ok, trained_run, _wav(tmp_path / "short.wav", tone(60, 3 * 512 / SR)), tmp_path)
    assert len(Path(res["pitches_csv"]).read_text().splitlines()) == 4


def test_ten_minutes_of_audio_work(trained_run, tmp_path, cli_ok):
    x = np.tile(tone(60, 2.0) + tone(67, 2.0), 300)  # 10 min of a held fifth
    res = _predict(cli_ok, trained_run, _wav(tmp_path / "long.wav", x), tmp_path)
    assert len(Path(res["pitches_csv"]).read_text().splitlines()) == 1 + 600 * SR // 512


def test_long_audio_is_transcribed_in_chunks(trained_run, monkeypatch):
    """The input never sees more than 2 minutes at once (bounded memory, whatever the length)."""
    from mir101.tasks.runner import load_run

    task, model = load_run(trained_run)
    limit = 120 * SR
    forward = type(task.input).forward

    def bounded(self, x):
        if x.shape[-1] > limit:
            raise MemoryError(f"the input got {x.shape[-1] / SR:.0f} s of audio at once")
        return forward(self, x)

    monkeypatch.setattr(type(task.input), "forward", bounded)
    out = task.transcribe(model, np.zeros(600 * SR, np.float32))
    assert out["salience"].shape[-1] == 1 + 600 * SR // 512


def test_chunked_transcribe_equals_one_pass(trained_run):
    """Transcribing chunk by chunk gives the salience of one pass over the whole file (float
    rounding aside): every frame averages the same patches."""
    import torch

    from mir101.tasks.multipitch import salience_map
    from mir101.tasks.runner import load_run

    task, model = load_run(trained_run)
    audio = np.tile(tone(60, 1.5) + tone(64, 1.5), 8)  # 12 s: 517 frames, several chunks
    with torch.no_grad():
        feats = task.input(torch.from_numpy(audio)[None])[0].numpy()
    one_pass = salience_map(model, feats, task.cfg.data.patch_frames)
    for chunk_frames in (100, 333, 4096):
        out = task.transcribe(model, audio, chunk_frames=chunk_frames)["salience"]
        np.testing.assert_allclose(out, one_pass, atol=2e-5)


# ----------------------------------------------------------------------------- the library
def test_load_audio_repairs_stereo_and_rate_and_logs(tmp_path, caplog):
    x = tone(60, 0.5, sr=16000)
    path = _wav(tmp_path / "st.wav", np.stack([x, -x], axis=1), sr=16000, subtype="FLOAT")
    with caplog.at_level(logging.INFO, logger="mir101"):
        y = load_audio(path, SR)
    assert y.dtype == np.float32 and y.shape == (SR // 2,) and np.abs(y).max() < 1e-6  # L + R = 0
    assert "2 channels mixed down" in caplog.text and "resampled from 16000 Hz to 22050 Hz" in caplog.text


def test_load_audio_reads_a_truncated_wav_and_warns(tmp_path, caplog):
    full = _wav(tmp_path / "full.wav", tone(60, 1.0))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 2 * 5000])  # header + 5000 of 22050 samples
    with caplog.at_level(logging.WARNING, logger="mir101"):
        y = load_audio(cut, SR)
    assert y.shape == (5000,)
    np.testing.assert_array_equal(y, load_audio(full, SR)[:5000])
    assert f"{cut}: truncated WAV" in caplog.text


def test_load_audio_scales_integer_formats(tmp_path):
    x = tone(60, 0.2)
    for subtype, tol in (("PCM_U8", 1 / 64), ("PCM_16", 1e-4), ("PCM_24", 1e-6)):
        y = load_audio(_wav(tmp_path / f"{subtype}.wav", x, subtype=subtype), SR)
        assert np.abs(y - x).max() < tol, subtype


def test_load_audio_errors_are_audio_errors(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"RIFF")
    with pytest.raises(AudioError, match=r"x\.wav: cannot read audio"):
        load_audio(tmp_path / "x.wav", SR)


# ----------------------------------------------------------------------------- headers not believed
def _wav_header(path: Path, sr: int, n_samples: int, channels: int = 1) -> Path:
    """A 16-bit PCM WAV whose header says ``sr`` Hz (any value), holding ``n_samples`` of a tone."""
    import struct

    x = (tone(60, n_samples / SR) * 32767).astype("<i2")
    data = np.repeat(x, channels).tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, sr, sr * 2 * channels, 2 * channels, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("sr", "expected"),
    [
        (1, "a sample rate of 1 Hz is outside the 1000-768000 Hz"),
        (7, "a sample rate of 7 Hz is outside"),
        (999, "a sample rate of 999 Hz is outside"),
        (4_000_000, "a sample rate of 4e+06 Hz is outside"),
    ],
)
def test_a_header_sample_rate_out_of_bounds_is_refused(trained_run, tmp_path, cli_error, sr, expected):
    """A 40 KB file whose header says 1 Hz would be 441 M samples once resampled: refused at once."""
    path = _wav_header(tmp_path / f"sr{sr}.wav", sr, 20_000)
    msg = cli_error(["predict", "multipitch", trained_run, path, "--out", tmp_path / "out"])
    assert msg.startswith(f"{path}: {expected}") and "MIR101_MIN_SR / MIR101_MAX_SR" in msg, msg


def test_a_sample_rate_bound_can_be_moved_for_the_rare_real_case(tmp_path, monkeypatch):
    path = _wav_header(tmp_path / "sr500.wav", 500, 250)
    with pytest.raises(AudioError, match="500 Hz is outside"):
        load_audio(path, SR)
    monkeypatch.setenv("MIR101_MIN_SR", "400")
    assert load_audio(path, SR).shape == (SR // 2,)


@pytest.mark.parametrize(
    ("env", "seconds", "expected"), [("2", 3.0, "MIR101_MAX_AUDIO_SECONDS=4"), ("0.5", 1.0, "=2")]
)
def test_a_duration_beyond_the_bound_is_refused_before_reading(tmp_path, monkeypatch, env, seconds, expected):
    path = _wav(tmp_path / "long.wav", tone(60, seconds))
    monkeypatch.setenv("MIR101_MAX_AUDIO_SECONDS", env)
    with pytest.raises(
        AudioError, match=rf"long\.wav: {int(seconds * SR)} samples at 22050 Hz .* longer than"
    ):
        load_audio(path, SR)
    with pytest.raises(AudioError, match=expected):
        load_audio(path, SR)
    assert load_audio(path, SR, max_seconds=seconds + 1).shape == (int(seconds * SR),)


@pytest.mark.parametrize("value", ["fast", "-1", "0", "nan"])
def test_a_bad_limit_in_the_environment_is_named(trained_run, tmp_path, cli_error, monkeypatch, value):
    monkeypatch.setenv("MIR101_MAX_SR", value)
    path = _wav(tmp_path / "a.wav", tone(60, 0.5))
    msg = cli_error(["predict", "multipitch", trained_run, path, "--out", tmp_path / "out"])
    assert msg == f"MIR101_MAX_SR={value!r} must be a positive number", msg


@pytest.mark.parametrize(
    ("peak", "stereo"),
    [(1e30, False), (3e38, False), (1e30, True), (50.0, False)],
    ids=["1e30", "near float32 max", "1e30 in one channel", "50"],
)
def test_samples_far_outside_the_unit_range_are_normalised_and_logged(tmp_path, caplog, peak, stereo):
    x = tone(60, 0.5)
    y = x / np.abs(x).max() * np.float32(peak)
    data = np.stack([y, x], axis=1) if stereo else y
    path = _wav(tmp_path / "loud.wav", data, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="mir101"):
        out = load_audio(path, SR)
    assert np.isfinite(out).all() and 0.4 < np.abs(out).max() <= 1.0
    assert f"{path}: samples reach {float(np.float32(peak)):.3g}, far outside [-1, 1]" in caplog.text
    expected = (y / np.abs(y).max() + x / np.float32(peak)) / 2 if stereo else y / np.abs(y).max()
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_samples_slightly_over_full_scale_are_kept(tmp_path, caplog):
    x = tone(60, 0.5) / 0.2 * 1.5  # peak about 1.5 * 1.4: a hot float master, not a broken file
    path = _wav(tmp_path / "hot.wav", x, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="mir101"):
        np.testing.assert_array_equal(load_audio(path, SR), x)
    assert "far outside" not in caplog.text


def test_predict_on_unscaled_float_audio_hears_the_notes(trained_run, tmp_path, cli_ok):
    """Samples of 1e30 gave confident wrong notes: normalised, the fifth is heard as from a normal file."""
    x = tone(60, 2.0) + tone(67, 2.0)
    x = x / np.abs(x).max()
    normal = _predict(cli_ok, trained_run, _wav(tmp_path / "normal.wav", x, subtype="FLOAT"), tmp_path / "a")
    loud = _predict(
        cli_ok, trained_run, _wav(tmp_path / "loud.wav", x * 1e30, subtype="FLOAT"), tmp_path / "b"
    )
    assert loud["notes"] == normal["notes"] > 0

"""viz.plot_input draws every input with seconds on x and Hz, notes or pitch classes on y.

matplotlib draws with the Agg backend (tests/conftest.py sets MPLBACKEND).
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from mir101.errors import ShapeError
from mir101.inputs import CQT, Chroma, HarmonicCQT, LogMel, Spectrogram, Waveform
from mir101.viz import plot_input
from signals import harmonic_tone, midi_to_hz

SR = 22050


@pytest.fixture
def audio():
    return torch.from_numpy(harmonic_tone(midi_to_hz(60), 1.0, sr=SR))


def matplotlib_backend() -> str:
    return plt.get_backend().lower()


def labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def test_cqt_axes_are_notes_and_seconds(audio):
    cqt = CQT(sr=SR, hop_length=512)
    ax = plot_input(cqt(audio)[0], cqt)
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "note"
    assert "C4\n262 Hz" in labels(ax) and labels(ax)[0].startswith("C1")
    left, right = ax.get_xlim()
    assert left < 0 < 1.0 < right < 1.05
    plt.close("all")


def test_hcqt_channel_is_labelled_with_the_frequencies_it_analyses(audio):
    hcqt = HarmonicCQT(sr=SR, hop_length=512)
    out = hcqt(audio)
    ax = plot_input(out, hcqt, channel=2, title=None)  # harmonic 2: bin 0 analyses C2
    assert "harmonic 2" in ax.get_title() and labels(ax)[0].startswith("C2")
    with pytest.raises(ShapeError, match="channel=6"):
        plot_input(out, hcqt, channel=6)
    plt.close("all")


@pytest.mark.parametrize(
    "module, ylabel",
    [
        (LogMel(sr=SR, n_mels=64), "frequency (Hz)"),
        (Spectrogram(sr=SR, n_fft=1024, log="db"), "frequency (Hz)"),
        (Chroma(sr=SR), "pitch class"),
    ],
)
def test_other_inputs(audio, module, ylabel):
    fig, ax = plt.subplots()
    assert plot_input(module(audio), module, ax=ax, title="x") is ax
    assert ax.get_ylabel() == ylabel and ax.get_title() == "x"
    if isinstance(module, Chroma):
        assert labels(ax) == ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    else:
        assert float(labels(ax)[-1]) == pytest.approx(module.frequencies()[-1], abs=1)
    plt.close(fig)


def test_waveform_and_bad_shapes(audio):
    assert matplotlib_backend() == "agg"
    wave = Waveform(sr=SR)
    ax = plot_input(wave(audio)[0], wave)
    assert ax.get_ylabel() == "amplitude" and ax.get_xlim() == (0, 1.0)
    with pytest.raises(ShapeError, match=r"\(1, 1, 100, 10\)"):
        plot_input(np.zeros((1, 1, 100, 10)), CQT())
    plt.close("all")

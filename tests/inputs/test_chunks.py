"""InputModule.chunks: a long signal computed chunk by chunk equals the one-pass transform."""

import numpy as np
import pytest
import torch

from mir101.errors import ParameterError
from mir101.inputs import CQT, Chroma, HarmonicCQT, LogMel, Spectrogram, Waveform

SR = 22050

MODULES = {
    "cqt": lambda: CQT(hop_length=256, fmin=65.4, n_octaves=5),
    "hcqt": lambda: HarmonicCQT(fmin=65.4, n_octaves=3, bins_per_semitone=1, harmonics=(0.5, 1, 2, 3)),
    "logmel": lambda: LogMel(n_mels=32, log="db"),
    "stft": lambda: Spectrogram(n_fft=1024, hop_length=300),
    "chroma": lambda: Chroma(),
}


@pytest.fixture(scope="module")
def audio():
    return (0.1 * torch.randn(2, 20 * SR, generator=torch.Generator().manual_seed(0))).float()


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize(("chunk", "overlap"), [(97, 0), (256, 40)])
def test_chunks_tile_the_one_pass_output(name, chunk, overlap, audio):
    m = MODULES[name]()
    full = m(audio)
    parts = list(m.chunks(audio, chunk, overlap))
    assert [c.start for c in parts] == list(range(0, full.shape[-1], chunk))
    assert parts[-1].stop == full.shape[-1]
    torch.testing.assert_close(
        torch.cat([c.core for c in parts], -1), full, rtol=1e-4, atol=1e-5 * full.abs().max().item()
    )
    for c in parts:  # the overlap is exact too
        assert c.first == max(c.start - overlap, 0)
        torch.testing.assert_close(
            c.features,
            full[..., c.first : c.first + c.features.shape[-1]],
            rtol=1e-4,
            atol=1e-5 * full.abs().max().item(),
        )


def test_context_covers_the_longest_filter():
    """The lowest CQT filter of the default HCQT lasts ~3 s (harmonic 0.5 of C1): ~70 frames each side."""
    assert 60 <= HarmonicCQT().context_frames() <= 80
    assert LogMel(n_fft=2048, hop_length=512).context_frames() <= 4


def test_a_signal_shorter_than_a_chunk_is_one_chunk():
    m = LogMel(n_mels=16)
    x = torch.randn(3000)
    (only,) = list(m.chunks(x, 4096))
    torch.testing.assert_close(only.core, m(x))


def test_bad_arguments():
    m = LogMel(n_mels=16)
    with pytest.raises(ParameterError, match="chunk_frames=0"):
        next(m.chunks(torch.zeros(SR), 0))
    with pytest.raises(ParameterError, match="overlap_frames=-1"):
        next(m.chunks(torch.zeros(SR), 10, -1))
    with pytest.raises(ParameterError, match="Waveform has no frame grid"):
        next(Waveform().chunks(np.zeros(SR, np.float32)))

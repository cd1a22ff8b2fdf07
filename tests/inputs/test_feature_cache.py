"""FeatureCache: built once, reused, exact per item, atomic, picklable, resampling when needed."""

import pickle

import numpy as np
import pytest
import torch

from mir101.data.store import Store, StoreWriter
from mir101.errors import ParameterError, StoreError
from mir101.inputs import CQT, FeatureCache, HarmonicCQT, LogMel
from signals import harmonic_tone, midi_to_hz

SR = 22050


@pytest.fixture
def store(tmp_path):
    """Four items of different lengths (0.3 to 1.2 s), one of them at 44.1 kHz."""
    with StoreWriter(tmp_path / "tiny") as w:
        for i, (midi, seconds) in enumerate([(60, 0.3), (64, 1.2), (67, 0.5), (71, 0.8)]):
            w.add(f"item{i}.wav", harmonic_tone(midi_to_hz(midi), seconds, sr=SR), SR)
        w.add("hifi.wav", harmonic_tone(midi_to_hz(69), 0.4, sr=44100), 44100)
    return Store(tmp_path / "tiny")


@pytest.fixture(autouse=True)
def cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MIR101_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_features_equal_the_module_output_item_by_item(store):
    m = CQT(sr=SR, hop_length=256, fmin=65.4, n_octaves=4)
    cache = FeatureCache(store, m, dtype="float32", batch_seconds=2.0)  # several items per batch
    assert cache.built and cache.path.is_file() and cache.path.parent.name == "features"
    for key in store.keys:
        audio, sr = store.audio(key)
        if sr != SR:
            continue
        expected = m(torch.from_numpy(audio))[0].numpy()
        feats = cache(key)
        assert feats.dtype == np.float32 and feats.shape == expected.shape == m.output_shape(len(audio))
        np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-6 * expected.max())
        assert cache.n_frames(key) == expected.shape[-1]
        np.testing.assert_allclose(cache.frame_times(key), m.frame_times(expected.shape[-1]))


def test_second_run_reuses_the_file(store, monkeypatch):
    m = LogMel(sr=SR, n_mels=32)
    first = FeatureCache(store, m)
    mtime = first.path.stat().st_mtime_ns

    def boom(*args, **kwargs):
        raise AssertionError("features recomputed")

    monkeypatch.setattr(m, "forward", boom)
    again = FeatureCache(store, LogMel(sr=SR, n_mels=32))
    again_same_module = FeatureCache(store.hdf5_path.with_suffix(""), m)  # by path, module never called
    assert not again.built and not again_same_module.built
    assert again.path == first.path and again.path.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(again("item1.wav"), first("item1.wav"))


def test_another_config_dtype_or_store_gives_another_file(store, tmp_path):
    paths = {
        FeatureCache(store, LogMel(sr=SR, n_mels=32)).path,
        FeatureCache(store, LogMel(sr=SR, n_mels=16)).path,
        FeatureCache(store, LogMel(sr=SR, n_mels=32), dtype="float32").path,
        FeatureCache(store, LogMel(sr=SR, n_mels=32), keys=["item0.wav"]).path,
    }
    assert len(paths) == 4
    with StoreWriter(tmp_path / "other") as w:
        w.add("item0.wav", harmonic_tone(midi_to_hz(50), 0.3, sr=SR), SR)
    assert FeatureCache(tmp_path / "other", LogMel(sr=SR, n_mels=32)).path not in paths


def test_interrupted_build_leaves_nothing(store, cache_root):
    m = CQT(sr=SR, hop_length=256, fmin=65.4, n_octaves=4)
    calls = []
    forward = m.forward

    def dies_on_the_second_batch(x):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed half-way")
        return forward(x)

    m.forward = dies_on_the_second_batch
    with pytest.raises(KeyboardInterrupt):
        FeatureCache(store, m, batch_seconds=0.1)  # one item per batch
    assert list((cache_root / "features").iterdir()) == []
    m.forward = forward
    assert FeatureCache(store, m).built  # the next run builds it again


def test_items_at_another_rate_are_resampled(store):
    m = LogMel(sr=SR, n_mels=32)
    cache = FeatureCache(store, m, dtype="float32")
    audio, sr = store.audio("hifi.wav")
    assert sr == 44100 and cache.n_frames("hifi.wav") == m.n_frames(round(len(audio) * SR / sr))
    mel = LogMel(sr=SR, n_mels=32, log=None)
    band = mel(torch.from_numpy(np.asarray(audio[::2])))[0, 0, :, 10].argmax()  # about A4 (440 Hz)
    assert cache("hifi.wav")[0, :, 10].argmax() == band


def test_float16_storage_pickling_and_subsets(store):
    m = HarmonicCQT(sr=SR, hop_length=512, fmin=65.4, n_octaves=3, harmonics=(1, 2))
    cache = FeatureCache(store, m, keys=["item0.wav", "item2.wav"])
    assert len(cache) == 2 and "item1.wav" not in cache and list(cache) == ["item0.wav", "item2.wav"]
    assert cache.h5["item0.wav"].dtype == np.float16 and cache("item0.wav").dtype == np.float32
    assert cache("item0.wav").shape == (2, 108, m.n_frames(int(0.3 * SR)))
    clone = pickle.loads(pickle.dumps(cache))  # as sent to a DataLoader worker
    np.testing.assert_array_equal(clone("item2.wav"), cache("item2.wav"))
    with pytest.raises(StoreError, match="item1.wav"):
        cache("item1.wav")
    with pytest.raises(StoreError, match="nope.wav"):
        FeatureCache(store, m, keys=["nope.wav"])
    with pytest.raises(ParameterError, match="dtype"):
        FeatureCache(store, m, dtype="int8")


def test_window_reads_one_patch_zero_padded(store):
    cache = FeatureCache(store, CQT(sr=SR, hop_length=256, fmin=65.4, n_octaves=4), dtype="float32")
    key = store.keys[1]
    full = cache(key)
    np.testing.assert_array_equal(cache.window(key, 3, 10), full[..., 3:13])
    n = cache.n_frames(key)
    tail = cache.window(key, n - 4, 10)
    assert tail.shape[-1] == 10 and np.all(tail[..., 4:] == 0)
    np.testing.assert_array_equal(tail[..., :4], full[..., n - 4 :])
    with pytest.raises(ParameterError, match="start must be >= 0"):
        cache.window(key, -1, 4)

"""The separation task: stems and remixing, oracles, overlap-add, FiLM conditioning, learning.

A tiny store of four "voices" (harmonic tones in disjoint pitch ranges, 8 kHz, the mixture the sum
of its stems) is written once per session and shared with the contract test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mir101.bricks.conditioned_unet import ConditionedUNet
from mir101.config import load_config
from mir101.data.store import Store, StoreWriter
from mir101.errors import AnnotationError, ConfigError
from mir101.metrics.separation import bss_eval
from mir101.models.separator import MaskSeparator, overlap_add_chunks
from mir101.tasks import train
from mir101.tasks.runner import make_task
from mir101.tasks.separation.data import SeparationPatches, stem_index
from mir101.tasks.separation.masks import NMFSeparator, oracle_masks, wiener

SR = 8000
VOICES = ["soprano", "alto", "tenor", "bass"]
RANGES = {"soprano": (72, 80), "alto": (64, 71), "tenor": (55, 63), "bass": (43, 54)}
ROOT = Path(__file__).resolve().parents[2]


def _voice(rng: np.random.Generator, lo: int, hi: int, seconds: float) -> np.ndarray:
    n, note = int(seconds * SR), int(0.25 * SR)
    out = np.zeros(n, np.float32)
    t = np.arange(note) / SR
    env = np.minimum(1.0, np.linspace(0, 30, note)) * np.minimum(1.0, np.linspace(30, 0, note))
    for a in range(0, n - note + 1, note):
        f0 = 440.0 * 2 ** ((rng.integers(lo, hi + 1) - 69) / 12)
        amps = 0.6 ** np.arange(4)
        out[a : a + note] = (
            0.1 * env * sum(amp * np.sin(2 * np.pi * f0 * (h + 1) * t) for h, amp in enumerate(amps))
        )
    return out


def make_voice_store(path: Path, n_items: int = 12, seconds: float = 4.0, seed: int = 0) -> Path:
    """Mixtures ``item<i>-mix`` of four voices, stems ``item<i>-<voice>`` (role, mix_key), one work each."""
    rng = np.random.default_rng(seed)
    with StoreWriter(path) as w:
        for i in range(n_items):
            stems = {v: _voice(rng, *RANGES[v], seconds) for v in VOICES}
            common = {"work_id": [{"value": f"w{i}"}], "key": [{"value": ["C", "G"][i % 2]}]}
            w.add(f"item{i}-mix", sum(stems.values()), SR, {"role": [{"value": "mix"}], **common})
            for v, x in stems.items():
                w.add(
                    f"item{i}-{v}",
                    x,
                    SR,
                    {"role": [{"value": v}], "mix_key": [{"value": f"item{i}-mix"}], **common},
                )
    return path


def shared_voice_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The voice store of this test session (written on first use, in pytest's base temp folder)."""
    prefix = tmp_path_factory.getbasetemp() / "separation-voices" / "voices"
    if not prefix.with_suffix(".pyjama").is_file():
        prefix.parent.mkdir(parents=True, exist_ok=True)
        make_voice_store(prefix)
    return prefix


@pytest.fixture(scope="session")
def voice_store(tmp_path_factory) -> Path:
    return shared_voice_store(tmp_path_factory)


TINY_UNET = [
    {"batchnorm2d": {}},
    {"unet": {"out_channels": "$mask_channels", "channels": [4, 8], "norm": None}},
]


def separation_config(tmp_path: Path, request: pytest.FixtureRequest | None = None, **task) -> Path:
    """A tiny separation experiment on the voice store (one CPU thread while the test runs)."""
    if request is not None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        request.addfinalizer(lambda: torch.set_num_threads(threads))
        store = shared_voice_store(request.getfixturevalue("tmp_path_factory"))
    else:
        store = make_voice_store(tmp_path / "voices")
    cfg = {
        "task": {"name": "separation", "n_fft": 256, "hop_length": 64, "max_bin": 96, "patch_seconds": 1.0,
                 "patches_per_epoch": 64, "eval_seconds": 1.5, "eval_items": 2, "baselines": ["mixture", "irm2", "nmf"], "chunk_seconds": 1.5,
                 "overlap_seconds": 0.25, "nmf_components": 4, "nmf_items": 4, **task},
        "data": {"store": str(store), "where": {"role": "mix"}, "batch_size": 8,
                 "split": {"by": "work_id", "valid": 0.2, "test": 0.25, "seed": 0}},
        "input": {"name": "waveform", "sr": SR},
        "model": {"layers": TINY_UNET},
        "optim": {"lr": 0.01},
        "train": {"patience": 0},
        "trainer": {"max_epochs": 2, "accelerator": "cpu", "enable_progress_bar": False, "log_every_n_steps": 1},
        "run_dir": str(tmp_path / "run"),
    }  # fmt: skip
    path = tmp_path / "separation.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


#: the contract test's experiments (tests/tasks/test_contract.py)
CONTRACT_CONFIGS = {"separation": separation_config}


def _stft(n_fft: int = 256, hop: int = 64):
    return MaskSeparator(torch.nn.Identity(), 4, n_fft, hop).stft


def test_stem_index_and_remixed_patches_add_up(voice_store):
    store = Store(voice_store)
    mixes = [k for k in store.keys if k.endswith("-mix")]
    index = stem_index(store, mixes, VOICES)
    assert index["item0-mix"] == [f"item0-{v}" for v in VOICES]
    groups = {m: str(store.value(m, "key")) for m in mixes}
    ds = SeparationPatches(store, index, patch=SR, length=20, remix=1.0, gain=0.2, groups=groups, seed=3)
    item = ds[5]
    assert item["stems"].shape == (4, SR) and torch.allclose(item["stems"].sum(0), item["mix"], atol=1e-6)
    again = SeparationPatches(store, index, patch=SR, length=20, remix=1.0, gain=0.2, groups=groups, seed=3)[
        5
    ]
    assert torch.equal(again["mix"], item["mix"])  # a draw depends on (seed, epoch seed, index) only
    state = torch.initial_seed()
    try:  # another epoch (the runner reseeds torch at each epoch): other patches
        torch.manual_seed(state + 7919)
        other = SeparationPatches(store, index, patch=SR, length=20, remix=1.0, gain=0.2, groups=groups, seed=3)
        assert not torch.equal(other[5]["mix"], item["mix"])
        torch.manual_seed(state)  # the same epoch again (a resumed run): the same patches
        assert torch.equal(other[5]["mix"], item["mix"])
    finally:
        torch.manual_seed(state)
    with pytest.raises(AnnotationError, match="no stem for source"):
        stem_index(store, mixes, ["soprano", "violin"])


def test_more_training_stores_join_without_the_held_out_works(tmp_path, request):
    """``task.train_stores``: another store's mixtures join training (new works too), never those of
    the split's validation and test works; each store draws patches in proportion to its mixtures."""
    extra = make_voice_store(tmp_path / "extra", n_items=16, seed=1)  # works w0..w15: w12..w15 are new
    cfg = load_config(
        separation_config(tmp_path, request, train_stores={"more": {"store": str(extra)}, "off": None})
    )
    task = make_task(cfg)
    split = task.make_split()
    held = {str(task.store.value(k, "work_id")) for k in split["valid"] + split["test"]}
    base, more = task.datamodule(split).train.datasets
    joined = {str(more.store.value(m, "work_id")) for m in more.mixes}
    assert held and not joined & held
    assert {"w12", "w13", "w14", "w15"} <= joined and len(joined) == 16 - len(held)
    assert len(base) + len(more) == 64 and len(more) > len(base)
    item = more[3]
    assert torch.allclose(item["stems"].sum(0), item["mix"], atol=1e-6)
    # the multipitch task's reading (new_works=False): the training works rendered again, nothing new
    train_works = {str(task.store.value(k, "work_id")) for k in split["train"]}
    [(_, _, same)] = task.training_stores({"more": {"store": str(extra)}}, split, new_works=False)
    assert {str(more.store.value(k, "work_id")) for k in same} == train_works
    only_held = make_voice_store(tmp_path / "held", n_items=12, seed=2)
    keep = sorted(held)
    cfg = load_config(
        separation_config(
            tmp_path,
            request,
            train_stores={"x": {"store": str(only_held), "where": {"role": "mix", "work_id": keep[0]}}},
        )
    )
    with pytest.raises(ConfigError, match="task.train_stores.x: none of its items belongs to a work outside"):
        make_task(cfg).datamodule(split)


def test_oracle_masks_reconstruct_the_sources_far_better_than_the_mixture(voice_store):
    store = Store(voice_store)
    refs = np.stack([store.audio(f"item0-{v}")[0] for v in VOICES])[:, : int(1.5 * SR)]
    mix = refs.sum(0)
    stft = _stft()
    x = stft(torch.from_numpy(mix)).numpy()
    s = stft(torch.from_numpy(refs)).numpy()
    sdr_mix = np.nanmedian(bss_eval(refs, np.repeat(mix[None], 4, 0), SR)["sdr"])
    for kind in ("irm1", "irm2", "ibm"):
        est = stft.inverse(
            torch.from_numpy((oracle_masks(s, kind) * x[None]).astype(np.complex64)), len(mix)
        ).numpy()
        sdr = np.nanmedian(bss_eval(refs, est, SR)["sdr"])
        assert sdr > sdr_mix + 10, (kind, sdr, sdr_mix)
    # the Wiener filter of the true sources gives them back, and its outputs add up to the mixture
    w = wiener(x, s, iterations=2)
    assert np.allclose(w.sum(0), x, atol=1e-4 * np.abs(x).max())
    # NMF with templates of each voice beats the mixture too
    nmf = NMFSeparator(n_components=4, iterations=50).fit(list(np.abs(s)))
    est = stft.inverse(
        torch.from_numpy((nmf.masks(np.abs(x)) * x[None]).astype(np.complex64)), len(mix)
    ).numpy()
    assert np.nanmedian(bss_eval(refs, est, SR)["sdr"]) > sdr_mix + 3


def test_overlap_add_keeps_the_length_and_equals_one_shot_inference():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1))
    sep = MaskSeparator(net, 4, n_fft=256, hop_length=64).eval()
    audio = np.random.default_rng(0).standard_normal(3000).astype(np.float32)
    with torch.no_grad():
        one_shot = sep(torch.from_numpy(audio)[None])[0].numpy()
    fits = sep.separate(audio, chunk=4000, overlap=500)  # the whole signal fits in one chunk
    assert fits.shape == (4, 3000) and np.array_equal(fits, one_shot)
    odd = np.random.default_rng(1).standard_normal(10_007).astype(np.float32)
    chunked = sep.separate(odd, chunk=2048, overlap=512, batch=3)
    assert chunked.shape == (4, 10_007)
    # a pointwise model: chunked overlap-add == one shot at every sample, whatever the chunking
    scale = lambda c: np.stack([c * 2, c * -1], axis=1)  # noqa: E731
    out = overlap_add_chunks(scale, odd, 2, chunk=1000, overlap=300, batch=2)
    assert np.allclose(out, scale(odd[None])[0], atol=1e-5)


def test_film_with_different_ids_gives_different_outputs():
    torch.manual_seed(0)
    net = ConditionedUNet(in_channels=1, out_channels=1, n_conditions=4, channels=(4, 8), norm=None)
    for film in net.films:  # trained-like modulation (a fresh FiLM starts near the identity)
        torch.nn.init.normal_(film.to_gamma_beta.weight, std=0.5)
    x = torch.randn(2, 1, 16, 8)
    outs = [net(x, torch.full((2,), k)) for k in range(4)]
    for a in range(4):
        for b in range(a + 1, 4):
            assert not torch.allclose(outs[a], outs[b], atol=1e-4)
    stacked = net(x)  # all ids at once == one id at a time
    assert torch.allclose(stacked, torch.cat(outs, dim=1), atol=1e-5)


def test_bad_options_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="separation loss"):
        make_task(load_config(separation_config(tmp_path), ["task.loss=l3"]))
    with pytest.raises(ConfigError, match="task.mode"):
        make_task(load_config(separation_config(tmp_path), ["task.mode=phase"]))
    with pytest.raises(ConfigError, match="baselines"):
        make_task(load_config(separation_config(tmp_path), ["task.baselines=[oracle]"]))


@pytest.mark.parametrize("row", sorted(p.stem for p in (ROOT / "configs" / "separation").glob("*.yaml") if p.stem != "base"))
def test_every_row_builds(row):
    task = make_task(load_config(ROOT / "configs" / "separation" / f"{row}.yaml"))
    model = task.build_model()
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 22050))
    assert out.shape == (1, 4, 22050)
    assert type(task.system(model)).__name__ == "Supervised"


def test_brief_training_beats_the_mixture_on_held_out_items(tmp_path, request):
    cfg = separation_config(tmp_path, request, baselines=["mixture", "irm2"])
    result = train(cfg, ["trainer.max_epochs=4", "task.patches_per_epoch=96"]).evaluation
    assert result is not None
    base = result.extras["baselines"]["test"]
    assert result.sets["test"]["sdr"] > base["mixture"]["sdr"] + 3, (result.sets["test"], base)
    assert result.sets["test"]["sdr"] < base["irm2"]["sdr"]

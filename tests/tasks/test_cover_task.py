"""The cover task: protocols, the classic baseline, search, and learning on tiny synthetic cliques.

The tiny store: works are random 8-note melodies over a bass line; each work has two
"harmonisations" (``chorale``: the same melody over two different bass lines), each rendered twice
(another transposition and tempo): the chorale corpus's structure in a few seconds of tones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mir101.config import load_config
from mir101.errors import ConfigError
from mir101.tasks import TASKS, train
from mir101.tasks.cover import (
    EmbeddingIndex,
    block_chroma,
    classic_distances,
    knn,
    optimal_transposition,
    protocol_scores,
)

SR = 22050

#: a small MOVE-like model (the CPU model is configs/models/cover_move_small.yaml)
TINY_MOVE = [
    {"circularpad2d": {"padding": [0, 0, 0, 11]}},
    {"conv2d": {"out_channels": 16, "kernel_size": [12, 24]}},  # about 3 notes
    "prelu",
    {"maxpool2d": {"kernel_size": [12, 1], "stride": [1, 1]}},
    {"conv2d": {"out_channels": 16, "kernel_size": [1, 5]}},
    "prelu",
    {"conv2d": {"out_channels": 16, "kernel_size": [1, 5]}},
    "prelu",
    "splitattentionpool",
    {"squeeze": {"dim": 2}},
    {"linear": {"out_features": 16}},
]


def _tone(midi: float, n: int) -> np.ndarray:
    t = np.arange(n) / SR
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    x = sum(0.5**h * np.sin(2 * np.pi * f0 * (h + 1) * t) for h in range(4) if f0 * (h + 1) < SR / 2)
    return x * np.minimum(1.0, 20 * (n - np.arange(n)) / n)


def make_cover_store(path: Path, n_works: int = 24, seed: int = 0) -> Path:
    """``n_works`` works x 2 harmonisations (half of the bass notes differ) x 2 renditions (another
    key and tempo) of 8 notes (about 3 s each)."""
    from mir101.data.store import StoreWriter

    rng = np.random.default_rng(seed)
    definition = {"work_id": {"type": "global"}, "chorale": {"type": "global"}, "role": {"type": "global"}}
    with StoreWriter(path, definition=definition) as w:
        for wk in range(n_works):
            melody = 60 + rng.integers(0, 12, 8)
            bass = 36 + rng.integers(0, 12, 8)
            for h in range(2):
                if h:  # another harmonisation: half of the bass notes change
                    bass = bass.copy()
                    bass[rng.choice(8, 4, replace=False)] = 36 + rng.integers(0, 12, 4)
                for r in range(2):
                    shift, step = int(rng.integers(-5, 6)), rng.uniform(0.3, 0.45)
                    n = int(step * SR)
                    audio = np.concatenate(
                        [_tone(m + shift, n) + 0.6 * _tone(b + shift, n) for m, b in zip(melody, bass)]
                    )
                    ann = {"work_id": f"W{wk}", "chorale": f"W{wk}-h{h}", "role": "mix"}
                    w.add(f"W{wk}-h{h}-r{r}", (0.2 * audio).astype(np.float32), SR,
                          {k: [{"value": v}] for k, v in ann.items()})  # fmt: skip
    return path


@pytest.fixture(scope="module")
def cover_store(tmp_path_factory) -> Path:
    return make_cover_store(tmp_path_factory.mktemp("cover") / "cliques")


def cover_config(tmp_path: Path, store: Path, **sections) -> Path:
    cfg = {
        "task": {"name": "cover", "mining": "hard", "margin": 0.3, "p": 4, "k": 4, "batches_per_epoch": 8},
        "data": {"store": str(store), "where": {"role": "mix"}, "patch_frames": 48, "patch_hop_frames": 8,
                 "split": {"by": "work_id", "valid": 0.1, "test": 0.34, "seed": 0}},
        "input": {"name": "chroma", "sr": SR, "hop_length": 1024},
        "model": {"layers": TINY_MOVE},
        "optim": {"lr": 0.003},
        "train": {"patience": 0},
        "trainer": {"max_epochs": 2, "accelerator": "cpu", "enable_progress_bar": False, "log_every_n_steps": 1},
        "run_dir": str(tmp_path / "run"),
    }  # fmt: skip
    for k, v in sections.items():
        merge = isinstance(v, dict) and isinstance(cfg.get(k), dict) and k != "input"  # an input replaces
        cfg[k] = {**cfg[k], **v} if merge else v
    path = tmp_path / "cover.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _contract_cover(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    store = make_cover_store(tmp_path / "cliques", n_works=6)
    return cover_config(tmp_path, store, task={"p": 3, "k": 2, "batches_per_epoch": 2},
                        trainer={"max_epochs": 1}, data={"split": {"by": "work_id", "valid": 0.2, "test": 0.34, "seed": 0}})  # fmt: skip


#: the contract experiment of this task (tests/tasks/test_contract.py runs it)
CONTRACT_CONFIGS = {"cover": _contract_cover}


# ---------------------------------------------------------------------------- pieces
def test_protocols_on_a_hand_made_matrix():
    # two works; work A: chorale a1 (items 0, 1), chorale a2 (item 2); work B: items 3, 4 (one chorale each)
    pos = np.array([0.0, 0.1, 3.0, 1.0, 2.5])
    d = np.abs(pos[:, None] - pos[None, :])
    works, versions = ["A", "A", "A", "B", "B"], ["a1", "a1", "a2", "b1", "b2"]
    s = protocol_scores(d, works, versions, ks=(1,))
    # (i): q0: 1+ 3 4 2+ -> AP (1 + 2/4) / 2; q1: 0+ 3 4 2+ -> same; q2: 4 3 1+ 0+ -> (1/3 + 2/4) / 2
    #      q3: 1 0 4+ 2 -> 1/3; q4: 2 3+ 1 0 -> 1/2
    ap_i = [0.75, 0.75, (1 / 3 + 1 / 2) / 2, 1 / 3, 1 / 2]
    assert s["MAP_i"] == pytest.approx(np.mean(ap_i))
    # (ii): q0's and q1's own chorale removed: q0: 3 4 2+ -> 1/3; q1 alike; q2: 4 3 1+ 0+ -> 5/12;
    #       q3, q4 (one chorale each): as in (i)
    ap_ii = [1 / 3, 1 / 3, 5 / 12, 1 / 3, 1 / 2]
    assert s["MAP_ii"] == pytest.approx(np.mean(ap_ii))
    assert s["MR1_ii"] == pytest.approx(np.mean([3, 3, 3, 3, 2]))
    assert s["MRR_ii"] == pytest.approx(np.mean([1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 2]))
    assert protocol_scores(d, works, None)["MAP_ii"] == s["MAP_i"]


def test_classic_baseline_is_key_invariant_and_finds_its_version():
    rng = np.random.default_rng(0)
    a = rng.random((12, 40))
    b = np.roll(np.repeat(a, 2, axis=1), 5, axis=0)  # slower (twice as long), transposed up 5
    c = rng.random((12, 40))
    assert optimal_transposition(block_chroma(a, 1), block_chroma(b, 1)) == 7  # 12 - 5
    d = classic_distances([a, b, c], block=2)
    assert d[0, 1] < d[0, 2] and d[0, 1] < d[1, 2] and np.allclose(d, d.T) and (np.diag(d) == 0).all()


def test_search_numpy_and_faiss_agree(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((500, 8)).astype(np.float32)
    q = base[[3, 7]] + 0.001
    d, idx = knn(base, q, 5, backend="numpy")
    assert idx[:, 0].tolist() == [3, 7] and (np.diff(d, axis=1) >= 0).all()
    exact = np.sort(np.linalg.norm(base[None] - q[:, None], axis=2), axis=1)[:, :5]
    assert np.allclose(d, exact, atol=1e-4)
    from mir101.tasks.cover import faiss_available

    if faiss_available():
        d2, idx2 = knn(base, q, 5, backend="faiss")
        assert (idx2 == idx).all() and np.allclose(d2, d, atol=1e-3)
    index = EmbeddingIndex(base, [f"k{i}" for i in range(500)], ["w"] * 500, ["t"] * 500, {"run": "x"})
    again = EmbeddingIndex.load(index.save(tmp_path / "i.npz"))
    assert again.keys == index.keys and np.array_equal(again.embeddings, base)


def test_bad_options_are_one_line_errors(tmp_path, cover_store):
    for bad, match in [
        ({"mining": "easy"}, "task.mining"),
        ({"p": 1}, "task.p=1"),
        ({"margin": 0}, "task.margin"),
    ]:
        cfg = load_config(cover_config(tmp_path, cover_store, task=bad))
        with pytest.raises(ConfigError, match=match):
            TASKS.get("cover")(cfg)


# ---------------------------------------------------------------------------- learning
def test_training_on_tiny_cliques_beats_a_random_embedding(tmp_path, cover_store):
    """A short training (batch-hard mining) ranks held-out cliques better than the untrained
    network and than a random embedding, on both protocols (measured: untrained MAP 0.365 (i) /
    0.158 (ii), trained 0.491 / 0.341)."""
    cfg = cover_config(tmp_path, cover_store, trainer={"max_epochs": 10}, task={"baseline": False})
    torch.manual_seed(0)
    task = TASKS.get("cover")(load_config(cfg))
    untrained = task.evaluate(task.build_model(), task.make_split(), tmp_path)
    trained = train(cfg).evaluation
    assert trained is not None and untrained is not None
    s, s0 = trained.sets["test"], untrained.sets["test"]
    assert s["items"] == 32 and s["cliques"] == 8
    keys = task.make_split()["test"]
    works, versions = task.works(task.store, keys), task.versions(task.store, keys)
    rand = np.random.default_rng(0).standard_normal((len(keys), 16))
    chance = protocol_scores(np.linalg.norm(rand[:, None] - rand[None], axis=2), works, versions)
    for p in ("i", "ii"):
        assert s[f"MAP_{p}"] > s0[f"MAP_{p}"] + 0.05, (p, s, s0)
        assert s[f"MAP_{p}"] > chance[f"MAP_{p}"] + 0.1, (p, s, chance)


def test_a_cover1000_style_store_trains_with_its_row(tmp_path):
    """configs/cover/cover1000_chroma.yaml on a store in that format: audio + ``work_id`` only
    (no ``chorale``, no ``role``): protocol (ii) falls back to (i)."""
    from mir101.data.store import Store, StoreWriter

    src = Store(make_cover_store(tmp_path / "src", n_works=8))
    with StoreWriter(tmp_path / "cover1000", definition={"work_id": {"type": "global"}}) as w:
        for key in src.keys:
            audio, sr = src.audio(key)
            w.add(f"{key}.mp3", audio, sr, {"work_id": [{"value": src.value(key, "work_id")}]})
    row = Path(__file__).resolve().parents[2] / "configs" / "cover" / "cover1000_chroma.yaml"
    overrides = [f"data.store={tmp_path / 'cover1000'}", f"run_dir={tmp_path / 'run'}", "input.hop_length=1024",
                 f"model={{layers: {TINY_MOVE}}}".replace("'", ""), "data.patch_frames=48", "data.patch_hop_frames=16",
                 "trainer.max_epochs=1", "task.batches_per_epoch=2", "task.p=3", "train.patience=0",
                 "trainer.enable_progress_bar=false", "task.baseline=false"]  # fmt: skip
    result = train(row, overrides).evaluation
    s = result.sets["test"]
    assert s["items"] >= 4 and s["MAP_ii"] == s["MAP_i"]


def test_deep_chroma_folds_a_multipitch_salience(tmp_path):
    """The deep chroma input: a multipitch run's salience folded to 12 pitch classes, pooled in time,
    each frame's maximum 1 (a tiny multipitch run of tests/tinyrun.py)."""
    from mir101.tasks.cover.deepchroma import DeepChroma, fold_to_pitch_classes
    from tinyrun import make_store, write_config

    sal = np.zeros((24, 2))
    sal[[0, 12], 0] = 1.0  # C in two octaves, then E
    sal[4, 1] = 0.5
    folded = fold_to_pitch_classes(sal, np.arange(48, 72))
    assert folded[0, 0] == 2.0 and folded[4, 1] == 0.5 and folded.sum() == 2.5
    run = train(
        write_config(tmp_path / "mp.yaml", make_store(tmp_path / "mp"), tmp_path / "run"), evaluate=False
    ).run_dir
    chroma = DeepChroma(str(run), pool=4)
    audio = torch.from_numpy(_tone(57, SR)).float()[None]  # one second of A3
    out = chroma(audio)
    assert out.shape == (1, 1, 12, chroma.n_frames(SR)) and float(out.max()) <= 1.0 + 1e-6
    assert chroma.hop_length == 4 * 512 and chroma.get_config()["weights"]


def test_top_voice_keeps_the_highest_sounding_pitch():
    """The dominant-melody fold: per frame, the pitch class of the highest bin above the threshold."""
    from mir101.tasks.cover.deepchroma import top_voice_pitch_classes

    midi = np.arange(48, 84)  # C3 .. B5
    sal = np.zeros((36, 4))
    sal[[0, 7, 16], 0] = [0.9, 0.9, 0.6]  # C3, G3, E4: E on top
    sal[[0, 30], 1] = [0.9, 0.4]  # F#5 under the threshold: C3 is the top voice
    sal[:, 2] = 0.1  # nothing sounds
    sal[35, 3] = 0.51  # B5, just above
    out = top_voice_pitch_classes(sal, midi, 0.5)
    assert out.sum(axis=0).tolist() == [1.0, 1.0, 0.0, 1.0]
    assert [int(out[:, i].argmax()) for i in (0, 1, 3)] == [4, 0, 11]
    assert top_voice_pitch_classes(np.zeros((36, 0)), midi, 0.5).shape == (12, 0)


def test_deep_melody_from_the_shipped_transcriber_follows_the_upper_voice():
    """`run: pretrained, voice: top`: over a held C3, the melody A4 -> E5 is what the input keeps,
    while the full deep chroma also holds the C."""
    from mir101.tasks.cover.deepchroma import DeepChroma

    half = SR
    low = _tone(48, 2 * half)
    high = np.concatenate([_tone(69, half), _tone(76, half)])
    audio = torch.from_numpy((low + high) / 2).float()[None]
    melody = DeepChroma("pretrained", pool=4, voice="top")
    assert melody.threshold == pytest.approx(0.5) and melody.get_config()["voice"] == "top"
    m = melody(audio)[0, 0].numpy()
    on = m.sum(axis=0) > 0
    assert on.sum() >= 0.6 * m.shape[1]
    top = m.argmax(axis=0)
    first, second = (
        top[: m.shape[1] // 2][on[: m.shape[1] // 2]],
        top[m.shape[1] // 2 :][on[m.shape[1] // 2 :]],
    )
    assert np.mean(first == 9) > 0.7 and np.mean(second == 4) > 0.7, (first, second)
    assert m[0].sum() < 0.2 * on.sum()  # the held C under the melody is dropped
    full = DeepChroma("pretrained", pool=4)(audio)[0, 0].numpy()
    assert full[0].mean() > 0.3  # every voice: the C is there


def test_a_deep_melody_input_scores_the_classic_alignment_on_it_too(tmp_path, cover_store):
    """With a deep melody input (the shipped transcriber's top voice), the evaluation holds the
    classic chroma baseline and the same alignment on the row's own input (``classic_input``)."""
    melody = {"name": "deepchroma", "run": "pretrained", "pool": 2, "voice": "top"}
    cfg = cover_config(
        tmp_path, cover_store, input=melody, trainer={"max_epochs": 1}, task={"batches_per_epoch": 2}
    )
    result = train(cfg).evaluation
    base = result.extras["baselines"]
    assert set(base) == {"classic", "classic_input"}
    assert 0.0 < base["classic_input"]["test"]["MAP_ii"] <= 1.0
    assert base["classic_input"]["test"]["MAP_ii"] != base["classic"]["test"]["MAP_ii"]
    assert "classic on this input" in (Path(tmp_path / "run") / "report.md").read_text()


def test_the_validation_ranking_is_logged_and_chooses_the_best_checkpoint(tmp_path, cover_store):
    """``val/MAP_ii`` (whole validation items ranked, protocol ii) is logged after every validation
    and is what the best checkpoint follows."""
    import csv

    cfg = cover_config(
        tmp_path, cover_store, trainer={"max_epochs": 3}, task={"batches_per_epoch": 2, "baseline": False}
    )
    assert TASKS.get("cover")(load_config(cfg)).monitor == ("val/MAP_ii", "max")
    run = train(cfg).run_dir
    with open(run / "logs" / "metrics.csv") as f:
        maps = [float(r["val/MAP_ii"]) for r in csv.DictReader(f) if r.get("val/MAP_ii")]
    assert len(maps) == 3 and all(0.0 < m <= 1.0 for m in maps)
    state = torch.load(run / "checkpoints" / "best.ckpt", weights_only=False, map_location="cpu")["callbacks"]
    [best] = [v for k, v in state.items() if k.startswith("ModelCheckpoint")]
    assert best["monitor"] == "val/MAP_ii" and float(best["best_model_score"]) == pytest.approx(max(maps))
    one_work = cover_config(
        tmp_path, cover_store, data={"split": {"by": "work_id", "valid": 0.0, "test": 0.34, "seed": 0}}
    )
    assert TASKS.get("cover")(load_config(one_work)).monitor == ("val/loss", "min")


def test_more_training_stores_add_works_but_never_held_out_ones(tmp_path, cover_store):
    """``task.train_stores``: another store's works join the P x K batches, except the split's
    validation and test works; the batches' groups are the works of both stores."""
    extra = make_cover_store(tmp_path / "extra", n_works=30, seed=1)  # W0..W29: W24..W29 are new
    cfg = cover_config(tmp_path, cover_store, task={"train_stores": {"more": {"store": str(extra)}}})
    task = TASKS.get("cover")(load_config(cfg))
    split = task.make_split()
    held = set(task.works(task.store, split["valid"] + split["test"]))
    [(_, store, keys)] = task.training_stores(task.options.train_stores, split, new_works=True)
    joined = set(task.works(store, keys))
    assert held and joined == {f"W{i}" for i in range(30)} - held
    dm = task.datamodule(split)
    base, more = dm.train.datasets
    assert sorted(more.keys) == sorted(keys)
    own = set(task.works(task.store, split["train"]))
    assert len(dm.train_batch_sampler.groups) == len(own | joined) > len(own)


ROWS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "configs" / "cover").glob("*.yaml") if p.stem != "base")


@pytest.mark.parametrize("row", ROWS)
def test_every_row_builds(row):
    """Every config of configs/cover builds its task and embedding network (deep-chroma rows from
    the shipped transcriber instead of a multipitch run folder)."""
    path = Path(__file__).resolve().parents[2] / "configs" / "cover" / f"{row}.yaml"
    overrides = ["input.run=pretrained"] if "deepchroma" in row else []
    task = TASKS.get("cover")(load_config(path, overrides))
    model = task.build_model().eval()
    with torch.no_grad():
        out = model(torch.rand(2, 1, task.input.n_bins, int(task.cfg.data.patch_frames)))
    assert out.shape[0] == 2 and out.ndim == 2

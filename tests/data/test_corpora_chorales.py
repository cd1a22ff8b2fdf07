"""The chorales corpus: store layout, exact labels, audio checks, cliques, determinism, CLI."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from mir101.cli import main
from mir101.data.corpora import VOICES, build_chorales, chorale_catalogue, get_corpus_store, load_score
from mir101.data.store import Store
from mir101.data.targets import chord_class
from mir101.errors import CorpusError
from mir101.utils.io import cache_dir
from mir101.utils.pitch import midi_to_hz

# bwv281 has an expert analysis; bwv282 harmonises the same melody; bwv286 another one
CHORALES = ["bwv281", "bwv282", "bwv286"]
FAST = {"tempo": (120.0, 150.0)}  # short renditions keep the tests fast
GLOBALS = (
    "role", "chorale", "work_id", "title", "bwv", "key", "tempo", "transposition", "ensemble", "tag",
    "instrument", "program", "soundfont", "rendition", "reverb_rt60", "riemenschneider",
)  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    out = tmp_path_factory.mktemp("chorales")
    prefix = build_chorales(chorales=CHORALES, renditions=2, seed=0, variation=FAST, out=out, progress=False)
    return Store(prefix)


def _stems(store: Store, mix_key: str) -> list[str]:
    return [mix_key[: -len("mix")] + v for v in VOICES]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def test_layout_and_annotation_names(store):
    assert store.validate() == []
    mixes = [k for k in store.keys if k.endswith("-mix")]
    assert sorted(mixes) == sorted(f"{c}-r{r}-mix" for c in CHORALES for r in range(2))
    assert len(store) == 5 * len(mixes)
    for m in mixes:
        assert store.value(m, "role") == "mix"
        assert store.series(m, "f0").value.shape[0] == 4
        for v, s in zip(VOICES, _stems(store, m)):
            assert store.value(s, "role") == v and store.value(s, "mix_key") == m
            assert store.series(s, "f0").value.shape[0] == 1
            assert {it["voice"] for it in store.entry(s)["pitchmidi"]} == {v}
            assert store.value(s, "chorale") == store.value(m, "chorale")
    for key in store.keys:
        entry = store.entry(key)
        missing = [name for name in (*GLOBALS, "pitchmidi", "chord", "f0") if not entry.get(name)]
        assert not missing, f"{key} lacks {missing}"
        note = entry["pitchmidi"][0]
        assert {"voice", "instrument", "program", "velocity"} <= set(note)
        for seg in entry["chord"]:
            chord_class(seg["value"])  # every label parses
    meta = store.document["mir101"]
    assert set(meta["split"]) == {"train", "valid", "test"}
    assert sorted(k for v in meta["split"].values() for k in v) == sorted(store.keys)
    assert meta["versions"]["music21"] and meta["soundfont"]["name"] == "TimGM6mb.sf2"


def test_mix_is_the_sum_of_the_stems(store):
    for m in (k for k in store.keys if k.endswith("-mix")):
        mix, _ = store.audio(m)
        stems = np.sum([store.audio(s)[0] for s in _stems(store, m)], axis=0)
        assert np.max(np.abs(mix - stems)) < 1e-5
        assert 0.4 < np.max(np.abs(mix)) <= 0.9 + 1e-6


def test_every_note_has_energy_in_its_stem_at_its_time(store):
    for s in (k for k in store.keys if not k.endswith("-mix")):
        x, sr = store.audio(s)
        for it in store.entry(s)["pitchmidi"]:
            i = int(round(it["time"] * sr))
            seg = x[i : i + max(1, min(int(it["duration"] * sr), int(0.05 * sr)))]
            assert _rms(seg) > 1e-4, f"{s}: note {it} is silent"


def test_f0_series_follows_the_notes(store):
    for s in [k for k in store.keys if not k.endswith("-mix")][:8]:
        series = store.series(s, "f0")
        for it in store.entry(s)["pitchmidi"]:
            mid = it["time"] + it["duration"] / 2
            k = int(np.argmin(np.abs(series.time - mid)))
            assert series.value[0, k] == pytest.approx(midi_to_hz(it["value"]), abs=1e-2)


def test_rendered_pitch_matches_the_labels(store):
    """pYIN on the first seconds of every stem of one rendition agrees with the f0 labels."""
    import librosa

    m = f"{CHORALES[0]}-r0-mix"
    for s in _stems(store, m):
        x, sr = store.audio(s)
        series = store.series(s, "f0")
        n = int(4 * sr)
        f0, _, _ = librosa.pyin(x[:n], fmin=40, fmax=1600, sr=sr, frame_length=2048, hop_length=256)
        ref = series.value[0, : len(f0)]
        both = (ref > 0) & np.isfinite(f0)
        # plucked basses decay fast: pYIN calls their tails unvoiced
        assert both.sum() > 0.7 * (ref > 0).sum(), f"{s}: pYIN finds too few voiced frames"
        cents = 1200 * np.abs(np.log2(f0[both] / ref[both]))
        assert np.mean(cents < 50) > 0.9, f"{s} ({store.value(s, 'instrument')}): {np.mean(cents < 50):.2f}"


def test_labels_are_the_score_transposed(store):
    """Every pitch label = written pitch + transposition + 12 x the stem's octave shift."""
    scores = {c: load_score(f"bach/{c}", with_key=False) for c in CHORALES}
    for s in (k for k in store.keys if not k.endswith("-mix")):
        voice = VOICES.index(store.value(s, "role"))
        written = [n.midi for n in scores[store.value(s, "chorale")].voices[voice]]
        labels = [it["value"] for it in sorted(store.entry(s)["pitchmidi"], key=lambda it: it["time"])]
        shift = store.value(s, "transposition") + 12 * store.value(s, "octave_shift")
        assert labels == [p + shift for p in written]


def test_transposition_shifts_every_label_by_the_same_amount(tmp_path):
    def labels(semitones: int) -> list[int]:
        var = {**FAST, "transpose": (semitones, semitones)}
        prefix = build_chorales(
            chorales=["bwv286"],
            ensembles=["keyboards"],
            variation=var,
            out=tmp_path,
            name=f"t{semitones}",
            progress=False,
        )
        with Store(prefix) as st:
            assert st.value("bwv286-r0-mix", "transposition") == semitones
            return [int(v) for v in st.segments("bwv286-r0-mix", "pitchmidi").value]

    assert np.all(np.array(labels(4)) - np.array(labels(-3)) == 7)


def test_clique_members_share_their_melody(store):
    def soprano(key: str) -> list[int]:
        items = sorted(store.entry(key)["pitchmidi"], key=lambda it: it["time"])
        return [b["value"] - a["value"] for a, b in zip(items, items[1:])]

    works = {m: store.value(m, "work_id") for m in store.keys if store.value(m, "role") == "soprano"}
    assert works["bwv281-r0-soprano"] == works["bwv282-r0-soprano"] == works["bwv281-r1-soprano"]
    assert works["bwv286-r0-soprano"] != works["bwv281-r0-soprano"]
    for a in works:
        for b in works:
            ratio = difflib.SequenceMatcher(None, soprano(a), soprano(b), autojunk=False).ratio()
            assert (ratio >= 0.7) == (works[a] == works[b]), (a, b, ratio)
    # renditions of one chorale in different keys have the very same melody
    assert soprano("bwv281-r0-soprano") == soprano("bwv281-r1-soprano")
    assert store.value("bwv281-r0-mix", "ensemble") != store.value("bwv281-r1-mix", "ensemble")


def test_catalogue_finds_known_shared_tunes():
    by_id = {c.id: c for c in chorale_catalogue(progress=False)}
    assert len(by_id) > 340
    # Hassler's tune: "O Haupt voll Blut und Wunden" = "Befiehl du deine Wege" (bwv270)
    assert by_id["bwv244.54"].work_id == by_id["bwv270"].work_id
    assert by_id["bwv269"].work_id != by_id["bwv347"].work_id
    assert len({c.work_id for c in by_id.values()}) < 0.7 * len(by_id)


def test_expert_chord_test_set_and_agreement(store):
    meta = store.document["mir101"]
    agree = meta["chord_agreement"]
    assert agree["chorales"] >= 18 and 0.75 < agree["majmin_class"] < 0.97
    assert meta["chord_test"] == ["bwv281-r0-mix", "bwv281-r1-mix"]
    expert = store.segments("bwv281-r0-mix", "chord_expert")
    auto = store.segments("bwv281-r0-mix", "chord")
    assert len(expert) > 10 and all(chord_class(v) < 25 for v in expert.value)
    times = np.arange(expert.time[0], expert.time[-1] + expert.duration[-1], 0.05)
    from mir101.data.targets import chord_frames

    same = np.mean(chord_frames(auto, times) == chord_frames(expert, times))
    assert same > 0.75  # bwv281: 92 % in quarter notes


def test_same_seed_same_store_other_seed_differs(tmp_path):
    kw = {"chorales": ["bwv286"], "variation": FAST, "progress": False}
    a = build_chorales(seed=7, out=tmp_path, name="a", **kw)
    b = build_chorales(seed=7, out=tmp_path, name="b", workers=1, **kw)
    c = build_chorales(seed=8, out=tmp_path, name="c", **kw)
    with Store(a) as sa, Store(b) as sb, Store(c) as sc:
        assert sa.keys == sb.keys
        assert sa.entries == sb.entries
        assert sa.document["mir101"] == sb.document["mir101"]
        for k in sa.keys:
            assert np.array_equal(sa.audio(k)[0], sb.audio(k)[0])
        assert sa.entries != sc.entries
    assert Path(str(a) + ".pyjama").read_bytes() == Path(str(b) + ".pyjama").read_bytes()


def test_a_rendition_does_not_depend_on_the_other_chorales_of_the_build(store, tmp_path):
    """Rendering only some works again (the quickstart's other-SoundFont test set) gives the same
    performances as in the full build."""
    alone = build_chorales(
        chorales=["bwv286"], renditions=2, seed=0, variation=FAST, out=tmp_path, progress=False
    )
    with Store(alone) as one:
        assert one.keys and all(k.startswith("bwv286-") for k in one.keys)
        for k in one.keys:
            assert one.entry(k) == store.entry(k)
            assert np.array_equal(one.audio(k)[0], store.audio(k)[0])


def test_store_is_reused_from_the_cache(tmp_path, monkeypatch):
    (tmp_path / "corpora").mkdir()
    for path in cache_dir("corpora").glob("chorale-catalogue-*.json"):  # indexed once already
        shutil.copy(path, tmp_path / "corpora")
    monkeypatch.setenv("MIR101_CACHE", str(tmp_path))
    kw = {"chorales": ["bwv286"], "variation": FAST, "progress": False}
    first = get_corpus_store("chorales", **kw)
    assert first.parent == tmp_path / "corpora" and first.name.startswith("chorales-")
    stamp = os.stat(str(first) + ".hdf5").st_mtime_ns
    assert get_corpus_store("chorales", **kw) == first
    assert os.stat(str(first) + ".hdf5").st_mtime_ns == stamp
    assert get_corpus_store("chorales", seed=1, **kw) != first


def test_voice_that_fits_no_audible_program_is_an_error(tmp_path):
    # 40 semitones up, the saxophones cannot play the soprano, even two octaves down
    var = {**FAST, "transpose": (40, 40)}
    with pytest.raises(CorpusError, match="fits no program"):
        build_chorales(
            chorales=["bwv286"], ensembles=["saxophones"], variation=var, out=tmp_path, progress=False
        )
    assert not list(tmp_path.glob("*.pyjama"))  # nothing half-written


def test_unknown_chorale_names_close_ids(tmp_path):
    with pytest.raises(CorpusError, match=r"unknown chorale\(s\) \['bwv2699'\]; close ids: .*'bwv269'"):
        build_chorales(chorales=["bwv2699"], out=tmp_path, progress=False)


def _riff_chunks(data: bytes | bytearray, start: int, end: int):
    """``(id, offset of the body, size)`` of the RIFF chunks in ``data[start:end]``."""
    while start + 8 <= end:
        size = struct.unpack("<I", data[start + 4 : start + 8])[0]
        yield bytes(data[start : start + 4]), start + 8, size
        start += 8 + size + (size & 1)


def _clipped_soundfont(src: Path, dst: Path) -> Path:
    """Another SoundFont: ``src`` with its 16-bit samples amplified 8 times and clipped (the same
    instruments and key ranges, another timbre)."""
    data = bytearray(src.read_bytes())
    assert data[:4] == b"RIFF" and data[8:12] == b"sfbk"
    for cid, off, size in _riff_chunks(data, 12, len(data)):
        if cid == b"LIST" and data[off : off + 4] == b"sdta":
            for sid, soff, ssize in _riff_chunks(data, off + 4, off + size):
                if sid == b"smpl":
                    x = np.frombuffer(bytes(data[soff : soff + ssize]), "<i2").astype(np.int32)
                    data[soff : soff + ssize] = np.clip(8 * x, -32768, 32767).astype("<i2").tobytes()
                    dst.write_bytes(bytes(data))
                    return dst
    raise AssertionError(f"{src}: no sdta/smpl chunk")


def test_another_soundfont_can_replace_the_default(tmp_path):
    """The SoundFont given renders the store: the same score, programs and annotations as with the
    default font, other audio. FluidR3 if installed, else the default font with clipped samples
    (a byte copy of the default font would render the very same audio)."""
    from mir101.data.corpora import default_soundfont

    fluid = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
    source = fluid if fluid.is_file() else _clipped_soundfont(default_soundfont(), tmp_path / "other.sf2")
    default = build_chorales(chorales=["bwv286"], variation=FAST, out=tmp_path / "default", progress=False)
    prefix = build_chorales(
        chorales=["bwv286"], soundfont=source, variation=FAST, out=tmp_path, progress=False
    )
    with Store(prefix) as st, Store(default) as ref:
        assert st.validate() == []
        assert st.value("bwv286-r0-mix", "soundfont") == source.name
        assert st.document["mir101"]["soundfont"]["name"] == source.name
        assert st.keys == ref.keys and len(st.keys) == 5  # the mix and 4 stems
        for key in st.keys:
            ours, theirs = ({k: v for k, v in s.entry(key).items() if k != "soundfont"} for s in (st, ref))
            assert ours == theirs, key  # the same rendition of the same score
            x, y = st.audio(key)[0], ref.audio(key)[0]
            assert x.shape == y.shape and np.linalg.norm(x - y) > 0.2 * np.linalg.norm(y), key


def test_cli_builds_a_store_that_validates(tmp_path, capsys):
    args = ["data", "chorales", "--n", "8", "--out", str(tmp_path), "--tempo", "140,160", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"store {tmp_path / 'chorales'}" in out and "40 items" in out
    assert main(["data", "validate", str(tmp_path / "chorales")]) == 0
    meta = json.loads((tmp_path / "chorales.pyjama").read_text())["mir101"]
    assert meta["params"]["chorales"][:2] == ["bwv269", "bwv347"]  # Riemenschneider order
    assert len(meta["chord_test"]) == 8


def _shipped_key_matches() -> bool:
    import music21

    from mir101.data.corpora import scores

    return scores._shipped_rows(scores._catalogue_key(music21.__version__)) is not None


def test_a_fresh_cache_reads_the_shipped_catalogue_without_parsing(tmp_path, monkeypatch):
    """With the music21 version it was built with, a fresh machine reads the catalogue shipped in the
    package (no chorale parsed, ~35 s saved) and caches it; another version builds its own."""
    from mir101.data.corpora import scores

    if not _shipped_key_matches():
        pytest.skip("this music21 is not the one the shipped catalogue was built with (it builds its own)")
    monkeypatch.setenv("MIR101_CACHE", str(tmp_path))

    def no_parsing(job):
        raise AssertionError(f"parsed {job[0]}: the shipped catalogue was not used")

    monkeypatch.setattr(scores, "_read_chorale", no_parsing)
    infos = chorale_catalogue(progress=False)
    assert len(infos) > 340 and len(list((tmp_path / "corpora").glob("chorale-catalogue-*.json"))) == 1
    by_id = {c.id: c for c in infos}
    assert by_id["bwv244.54"].work_id == by_id["bwv270"].work_id
    assert scores._shipped_rows("a-key-of-another-music21") is None


def test_the_shipped_catalogue_matches_the_scores():
    """A few shipped rows against the chorales parsed again (melody, expert chords)."""
    from mir101.data.corpora import scores

    if not _shipped_key_matches():
        pytest.skip("this music21 is not the one the shipped catalogue was built with")
    by_id = {c.id: c for c in chorale_catalogue(progress=False)}
    for cid in ("bwv269", "bwv270", "bwv347"):
        info = by_id[cid]
        fresh = scores._read_chorale((info.path, tuple(info.riemenschneider)))
        assert isinstance(fresh, dict)
        assert tuple(fresh["melody"]) == info.melody
        assert [list(s) for s in fresh["expert"]] == [list(s) for s in info.expert]

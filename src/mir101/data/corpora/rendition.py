"""One rendition of a chorale: ensemble, key, tempo, dynamics and room drawn from a seed,
rendered voice by voice into stems and a mix with exact labels (see :mod:`.chorales`).

Stems are stored *after* every mix-level process (gain, reverb, normalisation), so
``mix = sum of stems`` holds exactly (up to float32 rounding).

Book page: ``book/intro.md`` (the embedded corpora).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from mir101.data.corpora.chords import ChordSegment, chord_segments, transpose_label
from mir101.data.corpora.ensembles import VOICES, get_ensemble, gm_family, program_name, voice_options
from mir101.data.corpora.render import SILENCE_RMS, RenderNote, SoundFontRenderer
from mir101.data.corpora.scores import ChoraleInfo, ChoraleScore, load_score
from mir101.errors import CorpusError, ParameterError
from mir101.utils.pitch import midi_to_hz

__all__ = ["Variation", "render_chorale", "init_worker"]

_MAJOR = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_ATTEMPTS = 8  # transpositions tried per ensemble before the next ensemble takes over


@dataclass(frozen=True)
class Variation:
    """How renditions vary (each drawn uniformly in its range, from the seed).

    Args:
        tempo: bpm range (quarter note).
        transpose: semitone range, both ends included.
        velocity: per-voice base MIDI velocity range.
        velocity_jitter: per-note velocity change, +- this much (0: none).
        gain_db: per-voice mix level, +- this many dB.
        reverb: probability of a synthetic room (RT60 0.3-1.5 s, wet 0.1-0.4).
        peak: range of the mix's peak amplitude after normalisation.
        fermata: length factor of notes under a fermata (1: as written).
        lead_in, tail: silence before the music and time after it (seconds).
        hop: f0 frame hop in samples.
    """

    tempo: tuple[float, float] = (60.0, 96.0)
    transpose: tuple[int, int] = (-5, 6)
    velocity: tuple[int, int] = (64, 112)
    velocity_jitter: int = 8
    gain_db: float = 6.0
    reverb: float = 0.5
    peak: tuple[float, float] = (0.5, 0.9)
    fermata: float = 1.75
    lead_in: float = 0.25
    tail: float = 1.0
    hop: int = 256

    def __post_init__(self) -> None:
        checks = [
            ("tempo", 0 < self.tempo[0] <= self.tempo[1]),
            ("transpose", self.transpose[0] <= self.transpose[1]),
            ("velocity", 1 <= self.velocity[0] <= self.velocity[1] <= 127),
            ("velocity_jitter", self.velocity_jitter >= 0),
            ("gain_db", self.gain_db >= 0),
            ("reverb", 0 <= self.reverb <= 1),
            ("peak", 0 < self.peak[0] <= self.peak[1] <= 1),
            ("fermata", self.fermata >= 1),
            ("lead_in", self.lead_in >= 0),
            ("tail", self.tail >= 0),
            ("hop", self.hop >= 1),
        ]
        for name, ok in checks:
            if not ok:
                raise ParameterError(f"Variation {name}={getattr(self, name)!r} is out of range")

    @classmethod
    def from_any(cls, value: Variation | Mapping[str, Any] | None) -> Variation:
        if value is None:
            return cls()
        if isinstance(value, Variation):
            return value
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ParameterError(f"unknown variation parameter(s) {unknown}; valid: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})


_RENDERER: SoundFontRenderer | None = None  # one synthesiser per worker process (set by init_worker)


def init_worker(soundfont: str, sr: int) -> None:
    global _RENDERER
    _RENDERER = SoundFontRenderer(soundfont, sr=sr)


def _id_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _key_name(tonic: int, mode: str) -> str:
    names = _MINOR if mode == "minor" else _MAJOR
    return f"{names[tonic % 12]} {mode}"


class _TimeMap:
    """Quarter notes -> seconds at a tempo, with fermata notes held longer."""

    def __init__(self, tempo: float, fermatas: Sequence[tuple[float, float]], factor: float, lead_in: float):
        self.spq = 60.0 / tempo
        self.spans = [(o, o + d) for o, d in fermatas] if factor > 1 else []
        self.extra = factor - 1
        self.lead_in = lead_in

    def __call__(self, q: float) -> float:
        held = sum(max(0.0, min(q, e) - s) for s, e in self.spans)
        return self.lead_in + (q + self.extra * held) * self.spq


def _place_voices(
    renderer: SoundFontRenderer,
    voices: Sequence[Sequence[RenderNote]],
    programs: Sequence[Sequence[int]],
    transposition: int,
) -> list[tuple[int, int]] | str:
    """``(program, octave shift)`` per voice such that every note (``voices``: untransposed) is in
    the program's range, audible and in tune (see :meth:`SoundFontRenderer.bad_notes`), or the
    reason there is none."""
    out = []
    for v, notes in enumerate(voices):
        low = min(n.key for n in notes) + transposition
        high = max(n.key for n in notes) + transposition
        chosen = None
        for program, shift in voice_options(low, high, programs[v]):
            moved = [replace(n, key=n.key + transposition + 12 * shift) for n in notes]
            if not renderer.bad_notes(program, moved):
                chosen = (program, shift)
                break
        if chosen is None:
            tried = [program_name(p) for p in programs[v]]
            return f"the {VOICES[v]} (MIDI {low}-{high}) fits no program of {tried} in range, audible and in tune"
        out.append(chosen)
    return out


def _reverb_ir(rng: np.random.Generator, sr: int, rt60: float) -> np.ndarray:
    """A synthetic room: 10-30 ms pre-delay, then noise decaying 60 dB in ``rt60`` s; unit energy."""
    pre = int(rng.uniform(0.01, 0.03) * sr)
    t = np.arange(int(rt60 * sr)) / sr
    tail = rng.standard_normal(len(t)) * 10.0 ** (-3.0 * t / rt60)
    ir = np.concatenate([np.zeros(pre), tail])
    return ir / np.sqrt(np.sum(ir**2))


def render_chorale(
    job: tuple[dict[str, Any], dict[str, Any]],
) -> list[tuple[str, np.ndarray, dict[str, Any]]]:
    """Worker: every rendition of one chorale as ``(key, audio, annotations)`` items."""
    from scipy.signal import oaconvolve

    info_d, p = job
    info = ChoraleInfo(**{**info_d, "expert": tuple(tuple(s) for s in info_d["expert"])})
    renderer = _RENDERER
    if renderer is None:  # pragma: no cover - the pool initializer sets it
        raise CorpusError("renderer not initialised in this worker")
    var = Variation.from_any(p["variation"])
    sr = renderer.sr
    score = load_score(info.path)
    auto_chords = chord_segments(score.notes)
    expert = [ChordSegment(a, b, c) for a, b, c in info.expert]
    order = np.random.default_rng([p["seed"], _id_int(info.id)]).permutation(len(p["ensembles"]))
    items = []
    for r in range(p["renditions"]):
        rng = np.random.default_rng([p["seed"], _id_int(info.id), r])
        tempo = round(float(rng.uniform(*var.tempo)), 1)
        tmap = _TimeMap(tempo, score.fermatas, var.fermata, var.lead_in)
        written: list[list[RenderNote]] = []  # timed notes at the written pitch
        for notes in score.voices:
            base = int(rng.integers(var.velocity[0], var.velocity[1] + 1))
            jitter = rng.integers(-var.velocity_jitter, var.velocity_jitter + 1, size=len(notes))
            written.append(
                [
                    RenderNote(
                        int(round(tmap(n.onset) * sr)),
                        int(round(tmap(n.onset + n.duration) * sr)),
                        n.midi,
                        int(np.clip(base + j, 1, 127)),
                    )
                    for n, j in zip(notes, jitter)
                ]
            )
        # the rendition's ensemble first; if no transposition lets every voice play in range,
        # audible and in tune, the next ensemble of the chorale's order takes over
        reasons = []
        placed: list[tuple[int, int]] | str = ""
        for e in range(len(order)):
            ensemble = get_ensemble(p["ensembles"][int(order[(r + e) % len(order)])])
            programs = ensemble.programs(rng)
            for _ in range(_ATTEMPTS):
                transposition = int(rng.integers(var.transpose[0], var.transpose[1] + 1))
                placed = _place_voices(renderer, written, programs, transposition)
                if not isinstance(placed, str):
                    break
            if not isinstance(placed, str):
                break
            reasons.append(f"{ensemble.name}: {placed}")
        if isinstance(placed, str):
            raise CorpusError(
                f"chorale {info.id} rendition {r}: no ensemble can play it ({'; '.join(reasons)})"
            )
        reverb = bool(rng.random() < var.reverb)
        rt60 = round(float(rng.uniform(0.3, 1.5)), 3) if reverb else 0.0
        wet = float(rng.uniform(0.1, 0.4)) if reverb else 0.0
        gains = rng.uniform(-var.gain_db, var.gain_db, size=len(VOICES))
        music_end = tmap(score.duration)
        n_samples = int(round((music_end + var.tail + rt60) * sr))
        voices_notes: list[list[RenderNote]] = []
        raw: list[np.ndarray] = []
        for v, notes in enumerate(written):
            program, shift = placed[v]
            sounding = [replace(n, key=n.key + transposition + 12 * shift) for n in notes]
            x = renderer.render(program, sounding, n_samples)
            _check_energy(x, sounding, sr, f"chorale {info.id} {VOICES[v]} ({program_name(program)})")
            raw.append(x.astype(np.float64) * 10.0 ** (gains[v] / 20))
            voices_notes.append(sounding)
        if reverb:
            ir = _reverb_ir(rng, sr, rt60)
            raw = [(1 - wet) * x + wet * oaconvolve(x, ir)[:n_samples] for x in raw]
        peak = float(rng.uniform(*var.peak))
        scale = peak / max(float(np.max(np.abs(np.sum(raw, axis=0)))), 1e-9)
        stems = [(x * scale).astype(np.float32) for x in raw]
        mix = np.sum(np.stack(stems).astype(np.float64), axis=0).astype(np.float32)
        items.extend(
            _items(info, score, r, ensemble.name, placed, transposition, tempo, rt60, gains, tmap, voices_notes,
                   auto_chords, expert, stems, mix, sr, var, p["soundfont_name"])
        )  # fmt: skip
    return items


def _check_energy(x: np.ndarray, notes: Sequence[RenderNote], sr: int, where: str) -> None:
    """Raise if a note has no energy in its rendered voice (first 50 ms after its onset)."""
    for n in notes:
        seg = x[n.onset : n.onset + max(1, min(n.offset - n.onset, int(0.05 * sr)))]
        if float(np.sqrt(np.mean(np.square(seg, dtype=np.float64)))) <= SILENCE_RMS:
            raise CorpusError(f"{where}: note {n.key} at {n.onset / sr:.3f} s is silent in the rendering")


def _items(
    info: ChoraleInfo,
    score: ChoraleScore,
    r: int,
    ensemble: str,
    placed: Sequence[tuple[int, int]],
    transposition: int,
    tempo: float,
    rt60: float,
    gains: np.ndarray,
    tmap: _TimeMap,
    voices_notes: list[list[RenderNote]],
    auto_chords: list[ChordSegment],
    expert: list[ChordSegment],
    stems: list[np.ndarray],
    mix: np.ndarray,
    sr: int,
    var: Variation,
    soundfont_name: str,
) -> list[tuple[str, np.ndarray, dict[str, Any]]]:
    n_samples = len(mix)
    n_frames = 1 + n_samples // var.hop
    frame_times = [round(k * var.hop / sr, 6) for k in range(n_frames)]
    f0 = np.zeros((len(VOICES), n_frames))
    note_items: list[list[dict[str, Any]]] = []
    for v, rn in enumerate(voices_notes):
        program = placed[v][0]
        cur = []
        for n in rn:
            k0, k1 = -(-n.onset // var.hop), -(-n.offset // var.hop)  # frames with onset <= t < offset
            f0[v, k0:k1] = float(midi_to_hz(n.key))
            cur.append(
                {
                    "value": n.key,
                    "time": round(n.onset / sr, 6),
                    "duration": round((n.offset - n.onset) / sr, 6),
                    "voice": VOICES[v],
                    "instrument": program_name(program),
                    "program": program,
                    "velocity": n.velocity,
                }
            )
        note_items.append(cur)

    def segments(chords: list[ChordSegment]) -> list[dict[str, Any]]:
        out = []
        for c in chords:  # boundaries rounded first, so that neighbours never overlap
            t0, t1 = (round(round(tmap(q) * sr) / sr, 6) for q in (c.onset, c.onset + c.duration))
            if t1 - t0 > 1e-6:
                out.append(
                    {
                        "value": transpose_label(c.label, transposition),
                        "time": t0,
                        "duration": round(t1 - t0, 6),
                    }
                )
        return out

    base = f"{info.id}-r{r}"
    common: dict[str, Any] = {
        "chorale": [{"value": info.id}],
        "work_id": [{"value": info.work_id}],
        "title": [{"value": info.title}],
        "bwv": [{"value": info.bwv}],
        "riemenschneider": [{"value": info.riemenschneider[0]}],
        "key": [{"value": _key_name(score.key[0] + transposition, score.key[1])}],
        "tempo": [{"value": tempo}],
        "transposition": [{"value": transposition}],
        "ensemble": [{"value": ensemble}],
        "reverb_rt60": [{"value": rt60}],
        "soundfont": [{"value": soundfont_name}],
        "rendition": [{"value": r}],
        "chord": segments(auto_chords),
    }
    if expert:
        common["chord_expert"] = segments(expert)
    f0_hz = np.round(f0, 3)
    programs = [p for p, _ in placed]
    out = [
        (
            f"{base}-mix",
            mix,
            {
                "role": [{"value": "mix"}],
                **common,
                "tag": [{"value": t} for t in sorted({gm_family(p) for p in programs})],
                "instrument": [{"value": program_name(p)} for p in programs],
                "program": [{"value": p} for p in programs],
                "pitchmidi": [it for voice in note_items for it in voice],
                "f0": [{"value": f0_hz.tolist(), "time": frame_times}],
            },
        )
    ]
    for v, voice in enumerate(VOICES):
        program, shift = placed[v]
        out.append(
            (
                f"{base}-{voice}",
                stems[v],
                {
                    "role": [{"value": voice}],
                    "mix_key": [{"value": f"{base}-mix"}],
                    **common,
                    "tag": [{"value": gm_family(program)}],
                    "instrument": [{"value": program_name(program)}],
                    "program": [{"value": program}],
                    "octave_shift": [{"value": shift}],
                    "gain_db": [{"value": round(float(gains[v]), 3)}],
                    "pitchmidi": note_items[v],
                    "f0": [{"value": f0_hz[v : v + 1].tolist(), "time": frame_times}],
                },
            )
        )
    return out

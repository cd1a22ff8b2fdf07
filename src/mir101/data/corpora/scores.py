"""Bach's four-part chorales from music21's bundled corpus: the catalogue, scores and melody cliques.

The corpus lists 371 chorales in Riemenschneider's numbering; some numbers share one file,
and a few files hold instrumental parts besides the four voices. The *catalogue* keeps every
file whose soprano, alto, tenor and bass can be identified, in Riemenschneider order, with its
title and BWV number, its soprano melody, its *clique* (``work_id``: the chorales harmonising the
same melody, found from the melodies themselves) and, for the 20 chorales with an expert
Roman-numeral analysis, the aligned expert chords. Building it parses every chorale once
(about 35 s on a fresh two-core machine); it is cached under ``cache_dir("corpora")``. The package
ships the catalogue built with one music21 version (``chorale_catalogue.json.gz``, beside this
module): a machine with that version reads it instead of parsing (another version builds its own).
Rebuild the shipped file with ``python -m mir101.data.corpora.scores``.

Cliques: Bach harmonised many hymn tunes several times, often under other texts ("O Haupt voll
Blut und Wunden" and "Befiehl du deine Wege" share Hassler's tune) while some texts were sung
to several tunes. Two chorales are linked when their soprano interval sequences (transposition
free, repeated notes merged by ties only) match with a ``difflib`` ratio of at least 0.7
(Ratcliff/Obershelp, 2 * matches / total length); cliques are the connected groups.

Book page: ``book/intro.md`` (the embedded corpora), ``book/cover.md`` (cliques).
"""

from __future__ import annotations

import difflib
import gzip
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mir101.data.corpora.chords import (
    ChordSegment,
    ScoreNote,
    chord_agreement,
    chord_segments,
    expert_segments,
)
from mir101.errors import CorpusError, MissingDependencyError
from mir101.utils.io import atomic_path, cache_dir, stable_hash

__all__ = [
    "ChoraleInfo",
    "ChoraleScore",
    "load_score",
    "chorale_catalogue",
    "melody_cliques",
    "expert_chords",
    "CLIQUE_RATIO",
]

log = logging.getLogger(__name__)

#: least difflib ratio between two soprano interval sequences of one clique
CLIQUE_RATIO = 0.7
_CATALOGUE_VERSION = 2
#: the catalogue shipped inside the package: ``{"key": ..., "music21": ..., "rows": [...]}``
SHIPPED_CATALOGUE = Path(__file__).with_name("chorale_catalogue.json.gz")
_VOICE_NAMES = ("soprano", "alto", "tenor", "bass")


@dataclass(frozen=True)
class ChoraleInfo:
    """One chorale of the catalogue.

    ``id`` is the corpus file stem (``bwv269``), ``path`` the music21 corpus path
    (``bach/bwv269``), ``riemenschneider`` its numbers, ``melody`` the soprano's MIDI pitches,
    ``work_id`` its melody clique, ``expert`` the aligned expert chords (quarter notes) if any.
    """

    id: str
    path: str
    riemenschneider: tuple[int, ...]
    title: str
    bwv: str
    melody: tuple[int, ...]
    work_id: str = ""
    expert: tuple[tuple[float, float, str], ...] = ()
    expert_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChoraleScore:
    """A parsed chorale: notes per voice (quarter notes), fermata spans and its key.

    ``voices[v]`` lists the notes of voice ``v`` (0 = soprano ... 3 = bass), ties merged, in
    time order and never overlapping; ``fermatas`` are the ``(onset, duration)`` of soprano notes
    bearing a fermata; ``key`` is ``(tonic pitch class, 'major'|'minor')``.
    """

    voices: list[list[ScoreNote]]
    fermatas: list[tuple[float, float]]
    key: tuple[int, str]
    measure_offsets: dict[int, float]

    @property
    def notes(self) -> list[ScoreNote]:
        return [n for v in self.voices for n in v]

    @property
    def duration(self) -> float:
        return max(n.onset + n.duration for n in self.notes)


def _music21() -> Any:
    try:
        import music21
    except ImportError as err:  # pragma: no cover - music21 is a dependency
        raise MissingDependencyError("the chorale corpus needs music21: pip install music21") from err
    return music21


def _satb_parts(score: Any) -> list[Any] | None:
    parts = list(score.parts)
    if len(parts) == 4:
        return parts
    chosen = []
    for name in ("soprano", "alto", "tenor", "bass"):
        match = [p for p in parts if (p.partName or "").strip().lower().split(" ")[0] == name]
        if len(match) != 1:
            return None
        chosen.append(match[0])
    return chosen


def load_score(path: str, with_key: bool = True) -> ChoraleScore:
    """Parse a chorale of music21's corpus (e.g. ``bach/bwv269``) into a :class:`ChoraleScore`.

    Tied notes are merged; ``with_key=False`` skips the key analysis (``key`` is then ``(0, '')``).

    Raises:
        CorpusError: the file is missing or its four voices cannot be identified.
    """
    m21 = _music21()
    try:
        score = m21.corpus.parse(path)
    except Exception as err:
        raise CorpusError(f"cannot parse chorale '{path}' from music21's corpus: {err}") from err
    parts = _satb_parts(score)
    if parts is None:
        names = [p.partName for p in score.parts]
        raise CorpusError(f"chorale '{path}': cannot find soprano, alto, tenor and bass among parts {names}")
    voices: list[list[ScoreNote]] = []
    fermatas: list[tuple[float, float]] = []
    for v, part in enumerate(parts):
        notes: list[ScoreNote] = []
        for n in part.flatten().notes:
            ql = float(n.quarterLength)
            if ql <= 0:  # grace notes
                continue
            pitch = int(max(p.midi for p in n.pitches) if v == 0 else min(p.midi for p in n.pitches))
            onset = float(n.offset)
            fermata = v == 0 and any(type(e).__name__ == "Fermata" for e in n.expressions)
            last = notes[-1] if notes else None
            tied = n.tie is not None and n.tie.type in ("stop", "continue")
            if last and tied and last.midi == pitch and abs(last.onset + last.duration - onset) < 1e-6:
                notes[-1] = ScoreNote(last.onset, last.duration + ql, pitch, v)  # a tie: one note
                if fermata:
                    fermatas.append((onset, ql))
                continue
            if last and last.onset + last.duration > onset + 1e-9:  # a second layer: cut the first
                if onset <= last.onset:
                    continue
                notes[-1] = ScoreNote(last.onset, onset - last.onset, last.midi, v)
            notes.append(ScoreNote(onset, ql, pitch, v))
            if fermata:
                fermatas.append((onset, ql))
        if not notes:
            raise CorpusError(f"chorale '{path}': the {_VOICE_NAMES[v]} has no notes")
        voices.append(notes)
    key = (0, "")
    if with_key:
        found = score.analyze("key")
        key = (int(found.tonic.pitchClass), str(found.mode))
    measures = {int(m.number): float(m.offset) for m in parts[0].getElementsByClass("Measure")}
    return ChoraleScore(voices, fermatas, key, measures)


def _intervals(melody: Sequence[int]) -> list[int]:
    return [b - a for a, b in zip(melody, melody[1:])]


def melody_cliques(melodies: dict[str, Sequence[int]], ratio: float = CLIQUE_RATIO) -> dict[str, str]:
    """Chorale id -> clique id, from soprano melodies (see the module docstring).

    A clique is named ``melody-<id of its first member>`` in the order of ``melodies``.

    Examples:
        >>> melody_cliques({"a": [60, 62, 64, 65, 67], "b": [67, 69, 71, 72, 74], "c": [60, 59, 57, 55]})
        {'a': 'melody-a', 'b': 'melody-a', 'c': 'melody-c'}
    """
    ids = list(melodies)
    seqs = {i: _intervals(melodies[i]) for i in ids}
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # Pre-filter: pairs of melodies (12+ intervals) sharing fewer than two interval 6-grams are never compared (every pair
    # with ratio >= 0.7 in music21's corpus shares at least five); it makes the index ~10x faster.
    grams = {i: {tuple(s[k : k + 6]) for k in range(len(s) - 5)} for i, s in seqs.items()}
    for a_i, a in enumerate(ids):
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(seqs[a])
        for b in ids[a_i + 1 :]:
            if min(len(seqs[a]), len(seqs[b])) >= 12 and len(grams[a] & grams[b]) < 2:
                continue
            matcher.set_seq1(seqs[b])
            if (
                matcher.real_quick_ratio() >= ratio
                and matcher.quick_ratio() >= ratio
                and matcher.ratio() >= ratio
            ):
                ra, rb = find(a), find(b)
                if ra != rb:
                    # the root is the earliest member, so names do not depend on link order
                    first, second = sorted((ra, rb), key=ids.index)
                    parent[second] = first
    return {i: f"melody-{find(i)}" for i in ids}


def _read_chorale(job: tuple[str, tuple[int, ...]]) -> dict[str, Any] | str:
    """Worker: the catalogue fields of one corpus file, or the reason it is left out."""
    path, numbers = job
    m21 = _music21()
    try:
        score = load_score(path, with_key=False)
    except CorpusError as err:
        return str(err)
    out: dict[str, Any] = {"melody": [n.midi for n in score.voices[0]], "expert": [], "expert_info": {}}
    analysis_paths = []
    for r in numbers:
        try:
            analysis_paths.append(m21.corpus.getWork(f"bach/choraleAnalyses/riemenschneider{r:03d}.rntxt"))
        except m21.exceptions21.CorpusException:
            continue
    if analysis_paths:
        analysis = m21.converter.parse(analysis_paths[0])
        segs, info = expert_segments(analysis, score.measure_offsets, score.notes)
        info["analysis"] = f"bach/choraleAnalyses/{analysis_paths[0].name}"
        if segs:
            auto = chord_segments(score.notes)
            info["agreement"] = {k: round(v, 4) for k, v in chord_agreement(segs, auto).items()}
        out["expert"] = [(s.onset, s.duration, s.label) for s in segs]
        out["expert_info"] = info
    return out


def chorale_catalogue(workers: int = 2, progress: bool = True) -> list[ChoraleInfo]:
    """Every usable chorale of music21's corpus, in Riemenschneider order (cached; see module doc).

    Args:
        workers: processes used the first time (parsing ~350 files).
        progress: show a progress bar while building.
    """
    m21 = _music21()
    key = _catalogue_key(m21.__version__)
    path = cache_dir("corpora") / f"chorale-catalogue-{key}.json"
    if path.is_file():
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            return [_info_from_json(r) for r in rows]
        except (json.JSONDecodeError, KeyError, TypeError):
            log.warning("chorale catalogue %s is unreadable; rebuilding it", path)
    shipped = _shipped_rows(key)
    if shipped is not None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(shipped), encoding="utf-8")
        return [_info_from_json(r) for r in shipped]
    from mir101.data.corpora._build import map_ordered

    chorales = m21.corpus.chorales
    rk = chorales.ChoraleListRKBWV()
    iterator = chorales.Iterator(returnType="filename")
    numbers: dict[str, list[int]] = {}
    for number, corpus_path in zip(iterator.numberList, iterator):
        numbers.setdefault(str(corpus_path), []).append(int(number))
    jobs = [(p, tuple(n)) for p, n in numbers.items()]
    results = map_ordered(
        _read_chorale, jobs, workers=workers, desc="indexing chorales (once)", progress=progress
    )
    infos: list[ChoraleInfo] = []
    for (corpus_path, nums), res in zip(jobs, results):
        if isinstance(res, str):
            log.info("chorale catalogue leaves out %s: %s", corpus_path, res)
            continue
        meta = rk.byRiemenschneider.get(nums[0], {})
        infos.append(
            ChoraleInfo(
                id=corpus_path.rsplit("/", 1)[-1],
                path=corpus_path,
                riemenschneider=nums,
                title=str(meta.get("title") or corpus_path),
                bwv=str(meta.get("bwv", corpus_path.rsplit("bwv", 1)[-1])),
                melody=tuple(res["melody"]),
                expert=tuple(tuple(s) for s in res["expert"]),
                expert_info=res["expert_info"],
            )
        )
    if not infos:
        raise CorpusError("music21's corpus holds no usable four-part chorale (is music21 installed fully?)")
    cliques = melody_cliques({i.id: i.melody for i in infos})
    infos = [ChoraleInfo(**{**asdict(i), "work_id": cliques[i.id]}) for i in infos]
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps([asdict(i) for i in infos]), encoding="utf-8")
    return infos


def _catalogue_key(music21_version: str) -> str:
    """What a catalogue depends on: music21's version (its corpus), this module's rules."""
    return stable_hash({"music21": music21_version, "version": _CATALOGUE_VERSION, "ratio": CLIQUE_RATIO})


def _shipped_rows(key: str) -> list[dict[str, Any]] | None:
    """The shipped catalogue's rows when it was built under ``key``, else ``None``."""
    try:
        with gzip.open(SHIPPED_CATALOGUE, "rt", encoding="utf-8") as f:
            shipped = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(shipped, dict) or shipped.get("key") != key:
        return None
    return shipped.get("rows")


def write_shipped_catalogue(path: Path = SHIPPED_CATALOGUE, workers: int = 2) -> Path:
    """Write this machine's catalogue (built if needed) as the package's shipped one."""
    m21 = _music21()
    rows = [asdict(i) for i in chorale_catalogue(workers=workers)]
    payload = {"key": _catalogue_key(m21.__version__), "music21": m21.__version__, "rows": rows}
    with gzip.GzipFile(path, "wb", mtime=0) as f:  # mtime 0: the same catalogue, the same bytes
        f.write(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return path


def _info_from_json(row: dict[str, Any]) -> ChoraleInfo:
    return ChoraleInfo(
        id=row["id"],
        path=row["path"],
        riemenschneider=tuple(row["riemenschneider"]),
        title=row["title"],
        bwv=row["bwv"],
        melody=tuple(row["melody"]),
        work_id=row["work_id"],
        expert=tuple((float(a), float(b), str(c)) for a, b, c in row["expert"]),
        expert_info=dict(row["expert_info"]),
    )


def expert_chords(info: ChoraleInfo) -> list[ChordSegment]:
    """The expert chord segments (quarter notes, score key) of a catalogue chorale, or ``[]``."""
    return [ChordSegment(a, b, c) for a, b, c in info.expert]


if __name__ == "__main__":  # python -m mir101.data.corpora.scores: rebuild the shipped catalogue
    print(write_shipped_catalogue())

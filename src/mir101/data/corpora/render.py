"""SoundFont rendering of note lists with TinySoundFont, sample-exact and deterministic.

One :class:`SoundFontRenderer` holds one synthesiser (one per worker process). Each call renders
one monophonic or polyphonic line on one GM program into a mono waveform: note-on and note-off
events fall on exact samples (TinySoundFont has no latency: the first sample of a note is the
note-on sample), and the synthesiser is reset and flushed before every call, so a rendering does
not depend on what was rendered before it (same notes -> bit-identical audio).

Some SoundFont presets hold no sample for some keys and play *nothing* there, without any error
(TimGM6mb's baritone sax above MIDI 80, its oboe below 36...). :meth:`SoundFontRenderer.is_audible`
renders a note alone and measures it, so that a silent note never becomes a label.

The renderer is ``tinysoundfont`` (https://github.com/nwhitehead/tinysoundfont-pybind). Its wheel
declares ``pyaudio`` (live playback only), which does not build without PortAudio headers;
install it with ``pip install --no-deps tinysoundfont``.

Book page: ``book/intro.md`` (the embedded corpora).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mir101.errors import CorpusError, MissingDependencyError

__all__ = [
    "RenderNote",
    "SoundFontRenderer",
    "default_soundfont",
    "soundfont_identity",
    "soundfont_problem",
    "check_soundfont",
    "require_tinysoundfont",
    "INSTALL_HINT",
    "SILENCE_RMS",
    "MAX_CENTS",
    "yin_f0",
]

INSTALL_HINT = "pip install --no-deps tinysoundfont"
#: RMS (re. full scale) under which a note rendered alone counts as silent (-70 dBFS)
SILENCE_RMS = 10 ** (-70 / 20)
#: largest deviation (cents) of a note's measured pitch from its key before it counts as wrong
MAX_CENTS = 50.0
#: samples rendered and thrown away after a reset, so no voice of a previous call leaks in
_FLUSH = 4096
#: an audibility probe measures at most this long a stretch of the note (seconds)
_PROBE_SECONDS = 0.1


@dataclass(frozen=True)
class RenderNote:
    """One note to render: ``onset`` and ``offset`` in samples, MIDI ``key`` and ``velocity``."""

    onset: int
    offset: int
    key: int
    velocity: int


def require_tinysoundfont() -> Any:
    """Import and return ``tinysoundfont``, or raise :class:`MissingDependencyError` saying how to
    install it (its pyaudio dependency is for playback only and often does not build)."""
    try:
        import tinysoundfont
    except ImportError as err:
        raise MissingDependencyError(
            f"the corpus renderer 'tinysoundfont' is not installed ({err}); install it with "
            f"`{INSTALL_HINT}` (--no-deps skips pyaudio, which rendering does not need)"
        ) from err
    return tinysoundfont


def default_soundfont() -> Path:
    """The General-MIDI SoundFont shipped in pretty_midi's wheel (``TimGM6mb.sf2``, 6 MB)."""
    try:
        import pretty_midi
    except ImportError as err:  # pragma: no cover - pretty_midi is a dependency
        raise MissingDependencyError(
            "pretty_midi (which ships the default SoundFont) is missing: pip install pretty_midi"
        ) from err
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not path.is_file():  # pragma: no cover - a broken install
        raise CorpusError(
            f"the default SoundFont {path} is missing; reinstall pretty_midi or pass soundfont="
        )
    return path


def soundfont_identity(path: str | os.PathLike | None) -> dict[str, Any]:
    """``{name, bytes, sha256}`` of a SoundFont file: what a corpus' cache key depends on.

    Raises:
        CorpusError: the file does not exist or is not a SoundFont (RIFF ``sfbk``).
    """
    path = Path(path) if path is not None else default_soundfont()
    if not path.is_file():
        raise CorpusError(f"soundfont={str(path)!r}: no such file (expected a .sf2/.sf3 SoundFont)")
    with path.open("rb") as fid:
        head = fid.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise CorpusError(f"soundfont={str(path)!r} is not a SoundFont file (no RIFF 'sfbk' header)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": digest}


#: the SoundFont 2 records of the ``pdta`` list: name -> record size in bytes (spec 2.04, 7.2-7.10)
_PDTA_RECORDS = {
    "phdr": 38,
    "pbag": 4,
    "pmod": 10,
    "pgen": 4,
    "inst": 22,
    "ibag": 4,
    "imod": 10,
    "igen": 4,
    "shdr": 46,
}
#: generator operators that index other records: instrument (41) and sampleID (53)
_GEN_INSTRUMENT, _GEN_SAMPLE_ID = 41, 53
#: seconds a child process may take to load and sound a SoundFont before it counts as hung
_PROBE_TIMEOUT = 120.0
_CHECKED: set[tuple[str, int, int]] = set()


def soundfont_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a well-formed SoundFont 2 file (``None``: it is), from its RIFF structure
    alone: chunk sizes within their containers, the nine ``pdta`` record tables, every index from
    a preset to its bags, generators, instrument and samples within its table, every sample within
    the sample data. TinySoundFont's C parser trusts all of these and crashes (SIGSEGV) on a file
    that breaks one.
    """
    import struct

    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fid:

        def chunks(start: int, end: int, where: str) -> dict[str, tuple[int, int]]:
            found: dict[str, tuple[int, int]] = {}
            pos = start
            while pos + 8 <= end:
                fid.seek(pos)
                head = fid.read(8)
                cid = head[:4].decode("latin-1")
                n = struct.unpack("<I", head[4:])[0]
                if pos + 8 + n > end:
                    raise _Bad(f"chunk {cid!r} in {where} claims {n} bytes, past the end of {where}")
                key = cid
                if cid == "LIST":
                    fid.seek(pos + 8)
                    key = fid.read(4).decode("latin-1")
                    found[key] = (pos + 12, n - 4)
                else:
                    found.setdefault(key, (pos + 8, n))
                pos += 8 + n + (n & 1)
            return found

        try:
            head = fid.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
                return "no RIFF 'sfbk' header"
            riff_end = 8 + struct.unpack("<I", head[4:8])[0]
            if riff_end > size:
                return f"truncated: the RIFF header announces {riff_end} bytes, the file holds {size}"
            top = chunks(12, riff_end, "the file")
            for name in ("INFO", "sdta", "pdta"):
                if name not in top:
                    return f"no '{name}' list"
            sdta = chunks(top["sdta"][0], sum(top["sdta"]), "'sdta'")
            n_samples = sdta["smpl"][1] // 2 if "smpl" in sdta else 0
            pdta_start, pdta_size = top["pdta"]
            pdta = chunks(pdta_start, pdta_start + pdta_size, "'pdta'")
            tables: dict[str, bytes] = {}
            for name, rec in _PDTA_RECORDS.items():
                if name not in pdta:
                    return f"no '{name}' chunk in 'pdta'"
                start, n = pdta[name]
                if n % rec or n < rec:
                    return f"'{name}' holds {n} bytes, not a whole number of {rec}-byte records"
                fid.seek(start)
                tables[name] = fid.read(n)
        except _Bad as bad:
            return str(bad)

    def column(name: str, fmt: str, offset: int) -> list[int]:
        rec = _PDTA_RECORDS[name]
        data = tables[name]
        return [struct.unpack_from(fmt, data, i + offset)[0] for i in range(0, len(data), rec)]

    count = {name: len(tables[name]) // rec for name, rec in _PDTA_RECORDS.items()}
    # (table, its index column, the table indexed): each index non-decreasing, within the table
    links = [
        ("phdr", 24, "pbag"),
        ("pbag", 0, "pgen"),
        ("pbag", 2, "pmod"),
        ("inst", 20, "ibag"),
        ("ibag", 0, "igen"),
        ("ibag", 2, "imod"),
    ]
    for name, offset, target in links:
        idx = column(name, "<H", offset)
        for i, (a, b) in enumerate(zip(idx, idx[1:])):
            if b < a:
                return f"'{name}' record {i + 1} points to {target} {b}, before the previous record's {a}"
        if idx[-1] > count[target] - 1:
            return f"'{name}' points to {target} {idx[-1]}, past the {count[target]} records of '{target}'"
    for name, oper, target in (("pgen", _GEN_INSTRUMENT, "inst"), ("igen", _GEN_SAMPLE_ID, "shdr")):
        opers, amounts = column(name, "<H", 0), column(name, "<H", 2)
        for i, (o, a) in enumerate(zip(opers[:-1], amounts[:-1])):
            if o == oper and a >= count[target] - 1:
                return f"'{name}' record {i} uses {target} {a}, past the {count[target] - 1} of '{target}'"
    starts, ends = column("shdr", "<I", 20), column("shdr", "<I", 24)
    loop_starts, loop_ends = column("shdr", "<I", 28), column("shdr", "<I", 32)
    rates = column("shdr", "<I", 36)
    for i in range(count["shdr"] - 1):
        if not starts[i] <= ends[i] <= n_samples:
            return f"sample {i} spans {starts[i]}-{ends[i]}, outside the {n_samples} samples of 'smpl'"
        if loop_starts[i] > n_samples or loop_ends[i] > n_samples:
            return f"sample {i} loops over {loop_starts[i]}-{loop_ends[i]}, outside the {n_samples} samples of 'smpl'"
        if rates[i] == 0:
            return f"sample {i} has a sample rate of 0 Hz"
    return None


class _Bad(Exception):
    pass


_PROBE = """
import sys
import tinysoundfont
synth = tinysoundfont.Synth(samplerate=int(sys.argv[2]))
sfid = synth.sfload(sys.argv[1])
for bank in (0, 128):
    for program in range(128):
        if synth.sfpreset_name(sfid, bank, program) is None:
            continue
        synth.program_select(0, sfid, bank, program)
        for key in (24, 48, 60, 72, 96):
            synth.noteon(0, key, 100)
            synth.generate(64)
            synth.noteoff(0, key)
        synth.generate(64)
"""


def check_soundfont(path: str | os.PathLike, sr: int = 22050) -> None:
    """Refuse a SoundFont that would crash the renderer, before the renderer sees it.

    The RIFF structure is checked in Python (:func:`soundfont_problem`); then a child process
    loads the file and sounds every preset, so that a crash in TinySoundFont's C code ends the
    child (and becomes this error), not the caller. A file that passed is remembered by its
    content (a marker in the cache folder): the check runs once per SoundFont and machine.

    Raises:
        CorpusError: naming the file and what is wrong (or how the renderer died).
    """
    import signal
    import subprocess
    import sys

    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _CHECKED:
        return
    problem = soundfont_problem(path)
    if problem is not None:
        raise CorpusError(f"soundfont={str(path)!r} is not a valid SoundFont: {problem}")
    from mir101.utils.io import cache_dir

    marker = cache_dir("soundfonts") / f"{hashlib.sha256(path.read_bytes()).hexdigest()}.ok"
    if not marker.is_file():
        try:
            r = subprocess.run(
                [sys.executable, "-c", _PROBE, str(path), str(int(sr))],
                capture_output=True,
                text=True,
                timeout=_PROBE_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise CorpusError(
                f"soundfont={str(path)!r}: loading it did not finish in {_PROBE_TIMEOUT:.0f} s (a corrupt SoundFont?)"
            ) from None
        if r.returncode < 0:
            name = (
                signal.Signals(-r.returncode).name
                if -r.returncode in signal.valid_signals()
                else r.returncode
            )
            raise CorpusError(
                f"soundfont={str(path)!r} is corrupt: the renderer (TinySoundFont) crashed loading it ({name}); "
                "use another SoundFont"
            )
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["no message"])[-1]
            raise CorpusError(f"soundfont={str(path)!r}: the renderer cannot load it ({last})")
        marker.touch()
    _CHECKED.add(key)


def yin_f0(x: np.ndarray, sr: int, fmin: float, fmax: float, threshold: float = 0.2) -> float:
    """Median f0 (Hz) of a steady tone by YIN (de Cheveigne & Kawahara, 2002, "YIN, a fundamental
    frequency estimator for speech and music", JASA 111(4)); NaN if too short or silent.

    Frames of ``width + sr / fmin`` samples (``width``: the integration window, at least 20 ms),
    half overlapping; per frame the cumulative-mean-normalised
    difference function, its first dip under ``threshold`` (else its minimum) in
    ``[sr / fmax, sr / fmin]``, refined by parabolic interpolation.

    Examples:
        >>> t = np.arange(11025) / 22050
        >>> round(yin_f0(np.sin(2 * np.pi * 220 * t), 22050, 100, 500), 1)
        220.0
    """
    max_lag = int(np.ceil(sr / fmin))
    min_lag = max(2, int(np.floor(sr / fmax)))
    width = max(max_lag, int(0.02 * sr))
    frame = width + max_lag + 1
    x = np.asarray(x, dtype=np.float64)
    if len(x) < frame or max_lag - min_lag < 2:
        return float("nan")
    starts = np.arange(0, len(x) - frame + 1, max(1, frame // 2))
    segs = x[starts[:, None] + np.arange(frame)]  # (frames, frame)
    n_fft = 1 << int(np.ceil(np.log2(2 * frame)))
    spec = np.fft.rfft(segs, n_fft) * np.conj(np.fft.rfft(segs[:, :width], n_fft))
    cross = np.fft.irfft(spec, n_fft)[:, : max_lag + 1]  # sum_j head[j] seg[j + tau]
    power = np.concatenate([np.zeros((len(segs), 1)), np.cumsum(segs**2, axis=1)], axis=1)
    shifted = power[:, width : width + max_lag + 1] - power[:, : max_lag + 1]
    diff = np.maximum(power[:, width : width + 1] + shifted - 2 * cross, 0.0)
    cmnd = diff[:, 1:] * np.arange(1, max_lag + 1) / np.maximum(np.cumsum(diff[:, 1:], axis=1), 1e-12)
    search = cmnd[:, min_lag - 1 : max_lag]  # lags min_lag..max_lag
    f0s = []
    for row, energy in zip(search, power[:, -1]):
        if energy <= 1e-10:
            continue
        below = np.flatnonzero(row < threshold)
        i = int(below[0]) if len(below) else int(np.argmin(row))
        while i + 1 < len(row) and row[i + 1] < row[i]:  # down to the bottom of the dip
            i += 1
        tau = float(i + min_lag)
        if 0 < i < len(row) - 1:
            a, b, c = row[i - 1], row[i], row[i + 1]
            if a - 2 * b + c > 0:
                tau += 0.5 * (a - c) / (a - 2 * b + c)
        f0s.append(sr / tau)
    return float(np.median(f0s)) if f0s else float("nan")


class SoundFontRenderer:
    """Render note lists on General-MIDI programs of a SoundFont.

    Args:
        soundfont: path of a ``.sf2``/``.sf3`` file (default: :func:`default_soundfont`).
        sr: sample rate in Hz.
        gain_db: the synthesiser's output gain in dB.

    Raises:
        MissingDependencyError: tinysoundfont is not installed (the message says how).
        CorpusError: the SoundFont cannot be loaded.

    Examples:
        >>> r = SoundFontRenderer(sr=22050)                           # doctest: +SKIP
        >>> x = r.render(40, [RenderNote(0, 11025, 69, 100)], 22050)  # doctest: +SKIP
        >>> x.shape                                                    # doctest: +SKIP
        (22050,)
    """

    def __init__(self, soundfont: str | os.PathLike | None = None, sr: int = 22050, gain_db: float = 0.0):
        tsf = require_tinysoundfont()
        if int(sr) <= 0:
            raise CorpusError(f"sr={sr} must be a positive sample rate in Hz")
        self.path = Path(soundfont) if soundfont is not None else default_soundfont()
        self.sr = int(sr)
        if not self.path.is_file():
            raise CorpusError(f"soundfont={str(self.path)!r}: no such file (expected a .sf2/.sf3 SoundFont)")
        check_soundfont(self.path, self.sr)  # a file that would crash the C parser is refused here
        self._synth = tsf.Synth(gain=gain_db, samplerate=self.sr)
        try:
            self._sfid = self._synth.sfload(str(self.path))
        except Exception as err:  # tinysoundfont raises several types on a bad file
            raise CorpusError(f"cannot load SoundFont {self.path}: {err}") from err
        self._audible: dict[tuple[int, int, int, int, int], bool] = {}
        self._cents: dict[tuple[int, int, int], float] = {}

    def preset_name(self, program: int, bank: int = 0) -> str | None:
        """The SoundFont's name for a program (``None`` if it has no such preset)."""
        return self._synth.sfpreset_name(self._sfid, bank, program)

    def _reset(self, program: int, bank: int) -> None:
        self._synth.soundfonts[self._sfid].reset()
        self._synth.generate(_FLUSH)
        try:
            self._synth.program_select(0, self._sfid, bank, program)
        except Exception as err:
            raise CorpusError(
                f"SoundFont {self.path.name} has no preset bank {bank} program {program}"
            ) from err

    def render(self, program: int, notes: Sequence[RenderNote], n_samples: int, bank: int = 0) -> np.ndarray:
        """Render ``notes`` on one program.

        Args:
            program: GM program (0-based).
            notes: the notes, any order; a note ends at its offset (then its release sounds).
            n_samples: length of the output; events past it are ignored.
            bank: SoundFont bank.

        Returns:
            float32 (n_samples,): the mono mix-down ``(left + right) / 2``.
        """
        self._reset(program, bank)
        events = []
        for n in notes:
            if not 0 <= n.onset < n.offset:
                raise CorpusError(f"note {n}: onset must be >= 0 and before the offset")
            # at one sample, note-offs come before note-ons (a repeated key restarts cleanly)
            events.append((n.onset, 1, int(n.key), int(n.velocity)))
            events.append((n.offset, 0, int(n.key), 0))
        events.sort()
        buf = np.zeros((int(n_samples), 2), dtype=np.float32)
        pos = 0
        for at, is_on, key, vel in events:
            if at >= n_samples:
                break
            if at > pos:
                self._synth.generate(at - pos, buffer=memoryview(buf[pos:at]).cast("B"))
                pos = at
            if is_on:
                self._synth.noteon(0, key, vel)
            else:
                self._synth.noteoff(0, key)
        if pos < n_samples:
            self._synth.generate(n_samples - pos, buffer=memoryview(buf[pos:]).cast("B"))
        return (buf[:, 0] + buf[:, 1]) * np.float32(0.5)

    def is_audible(self, program: int, key: int, velocity: int, duration: int, bank: int = 0) -> bool:
        """Whether a note sounds when rendered alone: RMS over its first ``min(duration, 0.1 s)``
        samples above :data:`SILENCE_RMS`. Cached per (program, key, velocity, length)."""
        length = max(1, min(int(duration), int(_PROBE_SECONDS * self.sr)))
        cache_key = (int(program), int(key), int(velocity), length, int(bank))
        if cache_key not in self._audible:
            x = self.render(program, [RenderNote(0, length, key, velocity)], length, bank)
            self._audible[cache_key] = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) > SILENCE_RMS
        return self._audible[cache_key]

    def silent_notes(self, program: int, notes: Sequence[RenderNote], bank: int = 0) -> list[RenderNote]:
        """The notes of ``notes`` that are silent on ``program`` (see :meth:`is_audible`)."""
        return [n for n in notes if not self.is_audible(program, n.key, n.velocity, n.offset - n.onset, bank)]

    def pitch_cents(self, program: int, key: int, bank: int = 0) -> float:
        """Deviation (cents) of a key's measured pitch from its nominal pitch: the key is held
        0.4 s alone at velocity 100 and measured by :func:`yin_f0` after 50 ms. Cached.

        Some SoundFont presets sound off on some keys (TimGM6mb's drawbar and church organs carry
        a 16' rank and measure an octave low, its oboe jumps an octave up on 74-78, its celesta's
        low zone is a semitone flat, its alto sax' key 64 is a broken sample). NaN when it cannot
        be measured: silent, or a pitch above ``sr / 8`` (fewer than 8 samples per period).
        """
        cache_key = (int(program), int(key), int(bank))
        if cache_key not in self._cents:
            f_ref = 440.0 * 2.0 ** ((key - 69) / 12)
            cents = float("nan")
            if f_ref < self.sr / 8:
                n = int(0.4 * self.sr)
                x = self.render(program, [RenderNote(0, n, key, 100)], n, bank)[int(0.05 * self.sr) :]
                f0 = yin_f0(x, self.sr, max(f_ref / 2.2, 15.0), min(2.2 * f_ref, self.sr / 4))
                cents = 1200 * float(np.log2(f0 / f_ref)) if f0 > 0 else float("nan")
            self._cents[cache_key] = cents
        return self._cents[cache_key]

    def bad_notes(
        self, program: int, notes: Sequence[RenderNote], check_pitch: bool = True, bank: int = 0
    ) -> list[tuple[RenderNote, str]]:
        """The notes that must not become labels, with the reason: ``silent`` (see
        :meth:`is_audible`) or, when ``check_pitch``, a key measured more than :data:`MAX_CENTS`
        off (see :meth:`pitch_cents`; a key that cannot be measured passes)."""
        out = []
        for n in notes:
            if not self.is_audible(program, n.key, n.velocity, n.offset - n.onset, bank):
                out.append((n, "silent"))
            elif check_pitch:
                cents = self.pitch_cents(program, n.key, bank)
                if np.isfinite(cents) and abs(cents) > MAX_CENTS:
                    out.append((n, f"sounds {cents:+.0f} cents off"))
        return out

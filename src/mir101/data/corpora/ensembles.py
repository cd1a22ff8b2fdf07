"""General-MIDI instruments for the embedded corpora: names, families, playable ranges, ensembles.

A chorale rendition gives each of the four voices (soprano, alto, tenor, bass) a GM program
from its *ensemble*, kept inside the instrument's playable range: the voice is moved by octaves
(a double bass sounding an octave below the written bass is the orchestral habit) or another
program of the ensemble is picked. Ranges are sounding MIDI pitches of the real instruments
(orchestration tables, e.g. Adler, *The Study of Orchestration*), not of the SoundFont, whose
samples may stretch further or fall silent earlier; the renderer checks every note anyway.

Families follow NSynth (Engel et al., 2017, "Neural Audio Synthesis of Musical Notes with
WaveNet Autoencoders", https://arxiv.org/abs/1704.01279) for the isolated-notes corpus, with
``synth_pad`` added; percussion, sound effects and two-pitch presets are left out.

Book page: ``book/intro.md`` (the embedded corpora).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mir101.errors import CorpusError
from mir101.utils.registry import Registry

__all__ = [
    "VOICES",
    "Ensemble",
    "ENSEMBLES",
    "ensemble_names",
    "get_ensemble",
    "program_name",
    "gm_family",
    "nsynth_family",
    "instrument_source",
    "NOTE_PROGRAMS",
    "PLAYABLE_RANGE",
    "playable_range",
    "voice_options",
]

#: the four chorale voices, top to bottom
VOICES: tuple[str, ...] = ("soprano", "alto", "tenor", "bass")

# The 128 GM program names (General MIDI Level 1), index = program number (0-based).
_GM_NAMES = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
    "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer", "Drawbar Organ",
    "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
    "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)",
    "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar",
    "Guitar Harmonics", "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)",
    "Fretless Bass", "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola",
    "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs",
    "Voice Oohs", "Synth Choir", "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax",
    "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Piccolo", "Flute",
    "Recorder", "Pan Flute", "Blown bottle", "Shakuhachi", "Whistle", "Ocarina", "Lead 1 (square)",
    "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 chiff", "Lead 5 (charang)", "Lead 6 (voice)",
    "Lead 7 (fifths)", "Lead 8 (bass + lead)", "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)",
    "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
    "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto",
    "Kalimba", "Bag pipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal", "Guitar Fret Noise", "Breath Noise",
    "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause", "Gunshot",
)  # fmt: skip
# The 16 GM families, 8 programs each.
_GM_FAMILIES = (
    "piano", "chromatic_percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth_lead", "synth_pad", "synth_effects", "ethnic", "percussive", "sound_effects",
)  # fmt: skip


def _ranges() -> dict[int, tuple[int, int]]:
    r: dict[int, tuple[int, int]] = {}

    def put(programs: Sequence[int], lo: int, hi: int) -> None:
        for p in programs:
            r[p] = (lo, hi)

    put((0, 1, 2, 3), 21, 108)  # pianos
    put((4, 5), 28, 100)  # electric pianos (73-key Rhodes)
    put((6, 7), 29, 89)  # harpsichord, clavinet
    put((8,), 60, 108)  # celesta
    put((9,), 79, 108)  # glockenspiel
    put((10,), 60, 96)  # music box
    put((11,), 53, 89)  # vibraphone
    put((12,), 36, 96)  # 5-octave marimba
    put((13,), 65, 108)  # xylophone
    put((14,), 60, 77)  # tubular bells
    put((15,), 48, 96)  # hammered dulcimer
    put((16, 17, 18), 36, 96)  # drawbar organs
    put((19,), 24, 96)  # church organ (with pedal)
    put((20,), 41, 89)  # reed organ
    put((21,), 36, 72)  # accordion (TimGM6mb's musette detunes by 50+ cents above)
    put((23,), 36, 76)  # bandoneon
    put((22,), 60, 96)  # harmonica
    put((24,), 40, 83)  # nylon guitar
    put((25,), 40, 84)  # steel guitar
    put((26, 27, 28), 40, 86)  # electric guitars
    put((29, 30), 40, 88)  # overdriven, distortion
    put((32,), 28, 60)  # double bass pizz. (jazz)
    put((33, 34, 35, 36, 37), 28, 67)  # bass guitars
    put((38, 39), 24, 72)  # synth basses
    put((40,), 55, 100)  # violin
    put((41,), 48, 88)  # viola
    put((42,), 36, 76)  # cello
    put((43,), 28, 60)  # double bass (sounding)
    put((44, 48, 49), 28, 100)  # string sections
    put((45,), 28, 96)  # pizzicato strings
    put((46,), 24, 103)  # harp
    put((50, 51), 36, 96)  # synth strings
    put((52, 53), 36, 84)  # choir (bass to soprano)
    put((54,), 36, 84)  # synth choir
    put((56,), 54, 84)  # trumpet
    put((59,), 54, 82)  # muted trumpet
    put((57,), 40, 72)  # trombone
    put((58,), 28, 58)  # tuba
    put((60,), 35, 77)  # French horn
    put((61,), 36, 84)  # brass section
    put((62, 63), 36, 96)  # synth brass
    put((64,), 56, 87)  # soprano sax
    put((65,), 49, 80)  # alto sax
    put((66,), 44, 75)  # tenor sax
    put((67,), 36, 68)  # baritone sax
    put((68,), 58, 91)  # oboe
    put((69,), 52, 81)  # English horn
    put((70,), 34, 75)  # bassoon
    put((71,), 50, 91)  # clarinet in B-flat (sounding)
    put((72,), 74, 108)  # piccolo
    put((73,), 60, 96)  # flute
    put((74, 75, 76), 60, 96)  # recorder, pan flute, bottle
    put((77,), 62, 91)  # shakuhachi
    put((78,), 72, 103)  # whistle
    put((79,), 60, 91)  # ocarina
    put((80, 81, 82, 83, 84, 85, 87), 36, 96)  # synth leads
    put(tuple(range(88, 96)), 36, 96)  # synth pads
    put((105,), 48, 84)  # banjo
    put((108,), 60, 96)  # kalimba
    put((109,), 55, 77)  # bagpipe chanter
    put((110,), 55, 100)  # fiddle
    put((111,), 60, 91)  # shanai
    put((114,), 48, 84)  # steel drums
    return r


#: sounding MIDI range (low, high) of the melodic programs the corpora use
PLAYABLE_RANGE: dict[int, tuple[int, int]] = _ranges()

# NSynth-like family of each program used by the notes corpus (percussive GM families, sound
# effects, "Guitar Harmonics", "Lead 7 (fifths)" (two pitches), timpani and whistle are left out).
_NSYNTH: dict[str, tuple[int, ...]] = {
    "keyboard": (0, 1, 2, 3, 4, 5, 6, 7),
    "mallet": (8, 9, 10, 11, 12, 13, 14, 15, 108, 114),
    "organ": (16, 17, 18, 19, 20, 21, 22, 23),
    "guitar": (24, 25, 26, 27, 28, 29, 30, 105),
    "bass": (32, 33, 34, 35, 36, 37, 38, 39),
    "string": (40, 41, 42, 43, 44, 45, 46, 48, 49, 50, 51, 110),
    "vocal": (52, 53, 54),
    "brass": (56, 57, 58, 59, 60, 61, 62, 63),
    "reed": (64, 65, 66, 67, 68, 69, 70, 71, 109, 111),
    "flute": (72, 73, 74, 75, 76, 77, 79),  # TimGM6mb's whistle (78) is broken
    "synth_lead": (80, 81, 82, 83, 84, 85, 87),
    "synth_pad": (88, 89, 90, 91, 92, 93, 94, 95),
}
_FAMILY_OF = {p: fam for fam, programs in _NSYNTH.items() for p in programs}
#: programs of the notes corpus, in program order
NOTE_PROGRAMS: tuple[int, ...] = tuple(sorted(_FAMILY_OF))
_ELECTRONIC = frozenset({2, 4, 5, 7, 16, 17, 18, 26, 27, 28, 29, 30, 33, 34, 35, 36, 37})
_SYNTHETIC = frozenset({38, 39, 50, 51, 54, 62, 63, *range(80, 96)})


def _check_program(program: int) -> int:
    if not isinstance(program, (int, np.integer)) or not 0 <= int(program) <= 127:
        raise CorpusError(f"program={program!r} must be a General-MIDI program number in 0..127")
    return int(program)


def program_name(program: int) -> str:
    """The General-MIDI name of a program (0-based), e.g. ``40 -> 'Violin'``."""
    return _GM_NAMES[_check_program(program)]


def gm_family(program: int) -> str:
    """The GM family of a program (one of 16, 8 programs each), e.g. ``40 -> 'strings'``."""
    return _GM_FAMILIES[_check_program(program) // 8]


def nsynth_family(program: int) -> str:
    """The NSynth-like family of a program of the notes corpus, e.g. ``71 -> 'reed'``.

    Raises:
        CorpusError: the program has no family (percussion, effects), naming the valid ones.
    """
    program = _check_program(program)
    if program not in _FAMILY_OF:
        raise CorpusError(
            f"program {program} ({program_name(program)}) has no NSynth-like family; "
            f"the notes corpus uses programs {list(NOTE_PROGRAMS)}"
        )
    return _FAMILY_OF[program]


def instrument_source(program: int) -> str:
    """NSynth's ``instrument_source``: ``acoustic``, ``electronic`` or ``synthetic``."""
    program = _check_program(program)
    if program in _SYNTHETIC:
        return "synthetic"
    return "electronic" if program in _ELECTRONIC else "acoustic"


def playable_range(program: int) -> tuple[int, int]:
    """Sounding MIDI range ``(low, high)`` of a program; the whole piano range if unknown."""
    return PLAYABLE_RANGE.get(_check_program(program), (21, 108))


@dataclass(frozen=True)
class Ensemble:
    """An instrumentation of the four chorale voices.

    Args:
        name: the ensemble class (stored as the ``ensemble`` annotation).
        voices: for each voice (soprano, alto, tenor, bass), the GM programs it may take.
        unison: every voice plays the same program (organ, piano, choir...), drawn from
            ``voices[0]``.
    """

    name: str
    voices: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]
    unison: bool = False

    def programs(self, rng: np.random.Generator) -> list[tuple[int, ...]]:
        """Per voice, its candidate programs in order of preference (first = the drawn one)."""
        if self.unison:
            first = self.voices[0][int(rng.integers(len(self.voices[0])))]
            rest = tuple(p for p in self.voices[0] if p != first)
            return [(first, *rest)] * len(VOICES)
        out = []
        for cands in self.voices:
            i = int(rng.integers(len(cands)))
            out.append((cands[i], *cands[:i], *cands[i + 1 :]))
        return out


ENSEMBLES: Registry[Ensemble] = Registry("ensemble")
for _e in (
    # Bach10's instrumentation (Duan et al., 2010): violin, clarinet, tenor saxophone, bassoon
    Ensemble("bach10", ((40,), (71,), (66,), (70,))),
    Ensemble("strings", ((40,), (40, 41), (41, 42), (42, 43))),
    Ensemble("string_orchestra", ((48, 49, 44),) * 4, unison=True),
    Ensemble("woodwinds", ((73, 68), (68, 71, 69), (71, 69, 70), (70,))),
    Ensemble("saxophones", ((64,), (65, 64), (66,), (67, 66))),
    Ensemble("brass", ((56, 59), (56, 60), (60, 57), (57, 58))),
    # TimGM6mb's drawbar and church organs sound a 16' rank, an octave below the key (see
    # SoundFontRenderer.pitch_cents): the reed organ and the accordions stand in for them
    Ensemble("organ", ((20, 21, 23),) * 4, unison=True),
    Ensemble("keyboards", ((0, 1, 2, 4, 5, 6),) * 4, unison=True),
    Ensemble("guitars", ((24, 25, 26, 27), (24, 25, 26, 27), (24, 25, 26, 27), (32, 33, 34, 35))),
    Ensemble("choir", ((52, 53), (52, 53), (52, 53), (52,))),
    Ensemble("synth", ((80, 81, 82, 83), (50, 62, 90, 89), (50, 62, 90, 89), (38, 39))),
    Ensemble("mallets", ((11, 12), (11, 12), (12,), (12,))),
    Ensemble("harp", ((46,),) * 4, unison=True),
    # one program per voice from a wide pool: timbre combinations no real ensemble has
    Ensemble(
        "mixed",
        (
            (40, 73, 68, 71, 56, 64, 0, 24, 11, 80, 52, 20, 21),
            (41, 71, 69, 65, 60, 0, 24, 52, 50, 20, 21, 62),
            (42, 41, 69, 66, 60, 57, 0, 25, 52, 20, 27, 89),
            (42, 43, 70, 58, 57, 67, 0, 32, 33, 38, 23),
        ),
    ),
):
    ENSEMBLES.add(_e.name, _e)


def ensemble_names() -> list[str]:
    """Names of the registered ensembles, sorted."""
    return ENSEMBLES.names()


def get_ensemble(name: str) -> Ensemble:
    """The ensemble called ``name``; an unknown name raises an error listing the valid ones."""
    return ENSEMBLES.get(name)


def voice_options(low: int, high: int, programs: Sequence[int]) -> list[tuple[int, int]]:
    """``(program, octave_shift)`` options that keep notes ``low..high`` in a program's range.

    Order of preference: the first program unshifted, any other program unshifted, then the
    first program moved by the fewest octaves, then the others moved. Out-of-range options
    are left out, so an empty list means no program of the voice can play it.

    Examples:
        >>> voice_options(36, 62, (42, 43))   # a chorale bass on cello, else double bass
        [(42, 0), (43, -1)]
    """
    shifts = (0, -1, 1, -2, 2)
    opts = []
    for k in shifts:
        for p in programs:
            lo, hi = playable_range(p)
            if lo <= low + 12 * k and high + 12 * k <= hi:
                opts.append((p, k))
    # the first program is preferred within each number of octaves
    return sorted(opts, key=lambda o: (abs(o[1]), o[0] != programs[0], shifts.index(o[1])))

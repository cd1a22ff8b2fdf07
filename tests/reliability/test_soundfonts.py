"""SoundFonts a user may give to ``mir101 data chorales|notes --soundfont`` (or ``corpus_args``):
TinySoundFont's C parser trusts every size and index of the file and dies of SIGSEGV on a corrupt
one. mir101 checks the RIFF structure first, and sounds the file in a child process, so a bad file
is one line naming it, never a dead process.

Every command here runs in a child process: a regression would kill that child, not the suite.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from mir101.data.corpora.render import check_soundfont, default_soundfont, soundfont_problem
from mir101.errors import CorpusError

NOTES = ["data", "notes", "--n", "2", "--sr", "8000", "--programs", "0", "--pitch-range", "60,62", "--quiet"]


@pytest.fixture(scope="module")
def sf2() -> bytes:
    return default_soundfont().read_bytes()


def _table(data: bytes, name: str) -> tuple[int, int]:
    """``(offset of the data, size)`` of a ``pdta`` table (or ``smpl``)."""
    start = data.index(b"pdta") if name != "smpl" else data.index(b"sdta")
    at = data.index(name.encode(), start)
    return at + 8, struct.unpack_from("<I", data, at + 4)[0]


def _poke(name: str, record: int, offset: int, fmt: str, value: int):
    sizes = {"phdr": 38, "pbag": 4, "pgen": 4, "inst": 22, "ibag": 4, "igen": 4, "shdr": 46}

    def edit(data: bytearray) -> bytearray:
        at, _size = _table(bytes(data), name)
        struct.pack_into(fmt, data, at + record * sizes[name] + offset, value)
        return data

    return edit


def _igen_sample(data: bytearray) -> bytearray:
    at, size = _table(bytes(data), "igen")
    for i in range(at, at + size, 4):
        if struct.unpack_from("<H", data, i)[0] == 53:  # sampleID
            struct.pack_into("<H", data, i + 2, 60000)
            return data
    raise AssertionError("no sampleID generator")


def _resize(name: str, delta: int):
    def edit(data: bytearray) -> bytearray:
        at, size = _table(bytes(data), name)
        struct.pack_into("<I", data, at - 4, size + delta)
        return data

    return edit


def _cut_record_bytes(data: bytearray) -> bytearray:
    """Two bytes less in 'pbag' (and in the lists holding it): a table of half a record more."""
    at, size = _table(bytes(data), "pbag")
    del data[at + size - 2 : at + size]
    struct.pack_into("<I", data, at - 4, size - 2)
    pdta = data.index(b"pdta") - 4  # the LIST's size field
    struct.pack_into("<I", data, pdta, struct.unpack_from("<I", data, pdta)[0] - 2)
    struct.pack_into("<I", data, 4, struct.unpack_from("<I", data, 4)[0] - 2)
    return data


#: (case, edit of the default SoundFont's bytes, what the error says)
CORRUPT = [
    ("preset bag index past the end", _poke("phdr", 3, 24, "<H", 65000), "'phdr' record 4 points to pbag"),
    (
        "preset bag index going back",
        _poke("phdr", 5, 24, "<H", 0),
        "'phdr' record 5 points to pbag 0, before",
    ),
    ("generator index going back", _poke("pbag", 9, 0, "<H", 0), "'pbag' record 9 points to pgen 0, before"),
    ("instrument bag past the end", _poke("inst", 2, 20, "<H", 65000), "points to ibag"),
    ("sample id past the end", _igen_sample, "uses shdr 60000, past the"),
    ("sample end past the data", _poke("shdr", 0, 24, "<I", 2**31), "sample 0 spans"),
    ("loop past the data", _poke("shdr", 1, 32, "<I", 2**31), "sample 1 loops over"),
    ("sample rate 0", _poke("shdr", 2, 36, "<I", 0), "sample 2 has a sample rate of 0 Hz"),
    ("table size not whole records", _cut_record_bytes, "not a whole number of 4-byte records"),
    ("chunk past its list", _resize("shdr", 10**6), "chunk 'shdr' in 'pdta' claims"),
    ("truncated to half", lambda d: d[: len(d) // 2], "truncated: the RIFF header announces"),
    ("no pdta list", lambda d: d.replace(b"pdta", b"pdtx", 1), "no 'pdta' list"),
    ("no header", lambda d: bytearray(b"RIFX") + d[4:], "no RIFF 'sfbk' header"),
]


def _mir101(args: list, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mir101", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MIR101_CACHE": str(cwd / "cache")},
    )


def _one_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])  # not -11 (SIGSEGV)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    return errors[0][len("error: ") :]


@pytest.mark.parametrize(("edit", "expected"), [c[1:] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_a_corrupt_soundfont_is_one_line_not_a_crash(sf2, tmp_path, edit, expected):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(bytes(edit(bytearray(sf2))))
    msg = _one_line(_mir101([*NOTES, "--soundfont", bad, "--out", tmp_path / "out"], tmp_path))
    assert msg.startswith(f"soundfont='{bad}'") and expected in msg, msg
    assert not list((tmp_path / "out").glob("*.pyjama"))


def test_a_crash_the_structure_check_misses_is_caught_in_a_child(sf2, tmp_path, monkeypatch):
    """The second net: a file the Python check lets through is loaded in a child process first;
    its SIGSEGV becomes an error naming the file."""
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(bytes(_poke("pbag", 9, 0, "<H", 0)(bytearray(sf2))))
    monkeypatch.setenv("MIR101_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("mir101.data.corpora.render.soundfont_problem", lambda path: None)
    with pytest.raises(
        CorpusError,
        match=r"bad\.sf2' is corrupt: the renderer \(TinySoundFont\) crashed loading it \(SIGSEGV\)",
    ):
        check_soundfont(bad)
    assert not list((tmp_path / "cache" / "soundfonts").glob("*.ok"))  # never remembered as good


def test_a_soundfont_that_hangs_the_child_is_refused(sf2, tmp_path, monkeypatch):
    monkeypatch.setenv("MIR101_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("mir101.data.corpora.render._PROBE", "import time; time.sleep(60)")
    monkeypatch.setattr("mir101.data.corpora.render._PROBE_TIMEOUT", 1.0)
    good = tmp_path / "good.sf2"
    good.write_bytes(sf2)
    with pytest.raises(CorpusError, match=r"good\.sf2': loading it did not finish in 1 s"):
        check_soundfont(good)


def test_the_default_soundfont_passes_once(tmp_path, monkeypatch):
    assert soundfont_problem(default_soundfont()) is None
    monkeypatch.setenv("MIR101_CACHE", str(tmp_path / "cache"))
    # files already checked in this process (by earlier tests) are not checked again: forget them
    monkeypatch.setattr("mir101.data.corpora.render._CHECKED", set())
    check_soundfont(default_soundfont())
    assert len(list((tmp_path / "cache" / "soundfonts").glob("*.ok"))) == 1


def test_a_corrupt_soundfont_in_an_experiment_is_one_line(sf2, tiny_store, tmp_path):
    from tinyrun import write_config

    bad = tmp_path / "bad.sf2"
    bad.write_bytes(bytes(_igen_sample(bytearray(sf2))))
    data = {"store": None, "corpus": "notes", "corpus_args": {"n": 2, "programs": [0], "soundfont": str(bad)}}
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", data=data)
    msg = _one_line(_mir101(["train", cfg], tmp_path))
    assert msg.startswith(f"soundfont='{bad}' is not a valid SoundFont"), msg

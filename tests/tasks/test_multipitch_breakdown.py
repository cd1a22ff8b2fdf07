"""Per-ensemble and per-voice error tables of the multipitch evaluation."""

import numpy as np
import pytest

from mir101.config import load_config
from mir101.data.store import Store, StoreWriter
from mir101.data.targets import pitch_roll_from_segments
from mir101.tasks.multipitch.breakdown import per_ensemble, per_voice
from mir101.tasks.runner import make_task

SR = 22050


@pytest.fixture
def voiced(tmp_path, write_config):
    """Two items of two voices (soprano C5, bass C3, 0-1 s), ensembles 'strings' and 'brass'."""
    with StoreWriter(tmp_path / "v") as w:
        for i, ens in enumerate(("strings", "brass")):
            notes = [
                {"value": 72, "time": 0.0, "duration": 1.0, "voice": "soprano"},
                {"value": 48, "time": 0.0, "duration": 1.0, "voice": "bass"},
            ]
            ann = {"pitchmidi": notes, "work_id": [{"value": f"w{i}"}], "ensemble": [{"value": ens}]}
            w.add(f"item{i}", np.zeros(int(1.5 * SR), np.float32), SR, ann)
    task = make_task(load_config(write_config(tmp_path / "e.yaml", tmp_path / "v", tmp_path / "run")))
    return task, Store(tmp_path / "v")


def _items(task, store, keys, octave_bass: tuple[bool, ...]):
    """Salience = the truth, except the bass sounded an octave up where ``octave_bass``."""
    times = task.input.frame_times(65)
    out = []
    for key, up in zip(keys, octave_bass):
        truth = pitch_roll_from_segments(store.segments(key, "pitchmidi"), times, task.grid) > 0.5
        sal = truth.astype(np.float32)
        if up:
            rows = np.flatnonzero(np.isclose(task.grid.midi(), 48))
            sal[rows + 12 * task.grid.bins_per_semitone] = sal[rows]
            sal[rows] = 0
        out.append((times, sal, truth))
    return out


def test_per_voice_finds_the_octave_confusion_of_the_bass(voiced):
    task, store = voiced
    keys = ["item0", "item1"]
    rows = {r["voice"]: r for r in per_voice(task, store, keys, _items(task, store, keys, (True, True)), 0.5)}
    assert rows["soprano"]["Frame recall"] > 0.95 and rows["soprano"]["Note onset recall"] == 1.0
    assert rows["bass"]["Frame recall"] == 0.0 and rows["bass"]["Octave misses"] > 0.95
    assert rows["bass"]["Note onset recall"] == 0.0 and rows["bass"]["notes"] == 2


def test_per_ensemble_puts_the_worst_ensemble_first(voiced):
    task, store = voiced
    keys = ["item0", "item1"]
    rows = per_ensemble(task, store, keys, _items(task, store, keys, (False, True)), 0.5)
    assert [r["ensemble"] for r in rows] == ["brass", "strings"]
    assert rows[1]["Accuracy"] > 0.95 > 0.6 > rows[0]["Accuracy"] and rows[0]["items"] == 1

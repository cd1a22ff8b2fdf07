"""mir_eval_multipitch: frames pooled over items, against mir_eval on hand-made rolls."""

from __future__ import annotations

import doctest
import importlib

import mir_eval
import numpy as np
import pytest

from mir101.metrics import METRICS, mir_eval_multipitch

BIN_HZ = 440.0 * 2 ** (np.arange(24) / 12)  # A4 upwards, one bin per semitone
TIMES = np.arange(4) * 0.01


def roll(*bins):
    r = np.zeros((24, 4), bool)
    r[list(bins)] = True
    return r


def test_perfect_and_half_recall():
    ref = [(TIMES, roll(0, 7))]
    assert mir_eval_multipitch(ref, [(TIMES, roll(0, 7))], BIN_HZ)["Accuracy"] == pytest.approx(1.0)
    half = mir_eval_multipitch(ref, [(TIMES, roll(0))], BIN_HZ)
    assert half["Precision"] == pytest.approx(1.0)
    assert half["Recall"] == pytest.approx(0.5)
    assert half["Accuracy"] == pytest.approx(0.5)


def test_items_are_pooled_frame_by_frame():
    # item 1 perfect (4 frames, 2 notes), item 2 half (4 frames, 1 of 2 notes): recall 12 / 16
    ref = [(TIMES, roll(0, 7)), (TIMES + 3.0, roll(2, 9))]
    est = [(TIMES, roll(0, 7)), (TIMES + 3.0, roll(2))]
    scores = mir_eval_multipitch(ref, est, BIN_HZ)
    assert scores["Recall"] == pytest.approx(12 / 16)
    # the same as mir_eval on the two items laid end to end
    t = np.arange(8) * 0.01
    freqs = lambda r: [BIN_HZ[np.flatnonzero(c)] for c in r.T]  # noqa: E731
    direct = mir_eval.multipitch.evaluate(
        t, freqs(roll(0, 7)) + freqs(roll(2, 9)), t, freqs(roll(0, 7)) + freqs(roll(2))
    )
    assert scores == pytest.approx({k: float(v) for k, v in direct.items()})


def test_registered():
    assert METRICS.get("mir_eval_multipitch") is mir_eval_multipitch


@pytest.mark.parametrize("module", ["ranking", "frechet"])
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"mir101.metrics.{module}")
    result = doctest.testmod(mod, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0

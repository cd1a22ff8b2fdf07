"""The multi-pitch report shows where and how a model errs (issue 14): error kinds, note-level
scores, every item worst first, an excerpt where errors are densest, a warning when it learned nothing."""

from __future__ import annotations

import numpy as np
import pytest

from mir101.metrics import mir_eval_notes
from mir101.tasks.multipitch.report import densest_errors
from mir101.tasks.runner import train


def test_report_breaks_errors_down_per_kind_per_note_and_per_item(chord_store, tmp_path, write_config):
    result = train(write_config(tmp_path / "e.yaml", chord_store, tmp_path / "run", trainer={"max_epochs": 2}))
    ev, run = result.evaluation, result.run_dir
    test = ev.sets["test"]
    for key in ("Miss Error", "False Alarm Error", "Substitution Error", "Note onset F", "Note onset-offset F"):
        assert 0 <= test[key] <= (1 if key.startswith("Note") else 10), key
    rows = ev.extras["per_item"]["test"]
    assert len(rows) == test["items"] and [r["Accuracy"] for r in rows] == sorted(r["Accuracy"] for r in rows)
    report = (run / "report.md").read_text()
    for heading in ("## Frame errors", "## Notes", "## Items of `test`, worst first", "## Excerpt"):
        assert heading in report, heading
    assert f"`{rows[0]['item']}`, its worst item" in report  # the excerpt comes from the worst item
    assert "learned nothing" not in report and ev.extras["learned_nothing"] is False


def test_a_model_that_learned_nothing_is_said_so(chord_store, tmp_path, write_config):
    cfg = write_config(
        tmp_path / "e.yaml",
        chord_store,
        tmp_path / "run",
        task={"output_prior": 1e-4},  # salience ~0 everywhere: no peak at any threshold
        optim={"lr": 1e-12},
        trainer={"max_epochs": 1, "max_steps": 1},
    )
    result = train(cfg)
    assert result.evaluation.extras["learned_nothing"] is True
    assert "this model learned nothing" in (result.run_dir / "report.md").read_text()


def test_densest_errors_finds_the_window_with_most_wrong_bins():
    truth = np.zeros((4, 100), bool)
    estimate = truth.copy()
    estimate[1, 70:80] = True  # false alarms
    truth[2, 10:12] = True  # two misses far away
    assert densest_errors(truth, estimate, 20) in range(60, 71)
    assert densest_errors(truth, estimate, 200) == 0  # a window longer than the item


def test_note_scores_count_onsets_and_offsets():
    ref = [[(0.0, 1.0, 60), (1.0, 2.0, 64)], [(0.0, 0.5, 67)]]
    perfect = mir_eval_notes(ref, ref, [2.0, 0.5])
    assert perfect["Note onset F"] == perfect["Note onset-offset F"] == pytest.approx(1.0)
    short = [[(0.0, 0.3, 60), (1.0, 2.0, 64)], [(0.0, 0.5, 67)]]  # one offset far too early
    s = mir_eval_notes(ref, short, [2.0, 0.5])
    assert s["Note onset F"] == pytest.approx(1.0) and s["Note onset-offset F"] == pytest.approx(2 / 3)
    wrong_pitch = [[(0.0, 1.0, 61), (1.0, 2.0, 64)], [(0.0, 0.5, 67)]]
    assert mir_eval_notes(ref, wrong_pitch, [2.0, 0.5])["Note onset R"] == pytest.approx(2 / 3)
    assert mir_eval_notes(ref, [[], []], [2.0, 0.5])["Note onset F"] == 0.0

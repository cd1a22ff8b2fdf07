"""What the multi-pitch report shows beyond the metrics table: where and how the model errs.

For each evaluation set: the kinds of frame errors (substitutions, misses, false alarms), the
note-level scores a MIDI user meets, every item's scores (worst first, with its ensemble), and an
excerpt of the salience against the truth, taken from the worst item where its errors are densest
-- so that misses (octaves, quiet inner voices) and false alarms are seen, not only counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mir101.tasks.multipitch.decoding import pick_peaks
from mir101.tasks.reports import markdown_table
from mir101.tasks.result import EvalResult

__all__ = ["multipitch_sections", "densest_errors"]

ERRORS = ("Substitution Error", "Miss Error", "False Alarm Error", "Total Error")
NOTES = ("Note onset P", "Note onset R", "Note onset F", "Note onset-offset F")
_NOTES = {
    "per_ensemble": "",
    "per_voice": (
        "\n\nFrame recall: share of the voice's sounding frames whose pitch is found (per semitone); "
        "octave misses: share missed while the estimate holds the pitch an octave away; note onset "
        "recall: the voice's notes matched alone against every estimated note (onset within 50 ms)."
    ),
}
ITEM_COLUMNS = ("Accuracy", "Precision", "Recall", "Miss Error", "False Alarm Error")


def densest_errors(truth: np.ndarray, estimate: np.ndarray, n_frames: int) -> int:
    """The first frame of the ``n_frames`` window holding the most wrong bins (misses + false alarms).

    Examples:
        >>> truth = np.zeros((3, 10), bool); estimate = truth.copy(); estimate[0, 6:9] = True
        >>> densest_errors(truth, estimate, 4)
        5
    """
    wrong = (truth != estimate).sum(axis=0)
    if len(wrong) <= n_frames:
        return 0
    window = np.convolve(wrong, np.ones(n_frames, int), mode="valid")
    return int(np.argmax(window))


def _table(result: EvalResult, columns: tuple[str, ...], title: str) -> str:
    rows = [
        [name, *(s[c] for c in columns)] for name, s in result.sets.items() if all(c in s for c in columns)
    ]
    return f"## {title}\n\n" + markdown_table(["set", *columns], rows) if rows else ""


def multipitch_sections(task: Any, result: EvalResult, run_dir: Path) -> list[str]:
    """Error kinds, note scores, per-item tables and one salience-vs-truth excerpt per set.

    ``task`` is the :class:`~mir101.tasks.multipitch.MultiPitch` of the run; the excerpts come from
    ``result.examples`` (absent when the result was read back from ``metrics.json``).
    """
    from mir101.viz.multipitch import plot_salience_vs_truth

    run_dir = Path(run_dir)
    (run_dir / "figures").mkdir(parents=True, exist_ok=True)
    threshold = float(result.extras.get("threshold", 0.5))
    sections = []
    if result.extras.get("learned_nothing"):
        sections.append(
            "**Warning: this model learned nothing.** It finds no pitch at any threshold on the "
            "validation works (Accuracy 0 everywhere): train longer, or lower `optim.lr`."
        )
    sections.append(
        f"Threshold {threshold:.2f} (chosen on the validation works). Frame metrics: "
        "`mir_eval.multipitch`, every frame of every item pooled; Accuracy = TP / (TP + FP + FN), a "
        "pitch correct within half a semitone. Note metrics: `mir_eval.transcription` on the notes "
        "`predict` writes as MIDI (onset within 50 ms; onset-offset: the offset too, within 20 %)."
    )
    speed = result.extras.get("speed") or {}
    if speed:
        sections.append(
            f"Inference (features + model + peak picking): {speed['audio_s_per_s']} s of audio per "
            f"second on {speed['threads']} CPU threads."
        )
    sections += [_table(result, ERRORS, "Frame errors"), _table(result, NOTES, "Notes")]
    for name, rows in (result.extras.get("per_item") or {}).items():
        shown = rows[:12]
        table = markdown_table(
            ["item", "ensemble", *ITEM_COLUMNS],
            [[r["item"], r["ensemble"], *(r[c] for c in ITEM_COLUMNS)] for r in shown],
        )
        more = (
            f"\n\n({len(rows) - len(shown)} better items not shown; all in `metrics.json`.)"
            if len(rows) > len(shown)
            else ""
        )
        sections.append(f"## Items of `{name}`, worst first\n\n{table}{more}")
    for key, columns, title in (
        ("per_ensemble", ("ensemble", "items", "Accuracy", "Precision", "Recall", "Note onset F"), "ensemble"),
        ("per_voice", ("voice", "notes", "Frame recall", "Octave misses", "Note onset recall"), "voice"),
    ):
        for name, rows in (result.extras.get(key) or {}).items():
            if rows:
                table = markdown_table(list(columns), [[r.get(c, "") for c in columns] for r in rows])
                sections.append(f"## Per {title} (`{name}`), worst first\n\n{table}{_NOTES[key]}")
    grid = task.grid
    for name, (key, (times, sal, truth)) in result.examples.items():
        hop = float(times[1] - times[0]) if len(times) > 1 else 1.0
        n = min(len(times), max(int(task.options.excerpt_seconds / hop), 1))
        est_all = pick_peaks(sal, threshold)
        a = densest_errors(truth, est_all, n)
        png = f"figures/salience_{name}.png"
        plot_salience_vs_truth(
            sal[:, a : a + n],
            truth[:, a : a + n],
            est_all[:, a : a + n],
            times[a : a + n],
            grid.midi(),
            run_dir / png,
            title=f"{name}: {key}",
        )
        sections.append(
            f"## Excerpt ({name}: `{key}`, its worst item, {times[a]:.1f}-{times[min(a + n, len(times)) - 1]:.1f} s "
            f"where its errors are densest)\n\n![salience vs truth]({png})"
        )
    return [s for s in sections if s]

"""Multi-pitch estimation: the task, its decoding (peaks, notes, MIDI) and its report.

Book page: ``book/multipitch.md``.
"""

from mir101.tasks.multipitch.decoding import frames_to_notes, pick_peaks, salience_map, write_midi
from mir101.tasks.multipitch.task import THRESHOLDS, MultiPitch, MultiPitchOptions

__all__ = [
    "MultiPitch",
    "MultiPitchOptions",
    "THRESHOLDS",
    "pick_peaks",
    "salience_map",
    "frames_to_notes",
    "write_midi",
]

"""Auto-tagging: items (multi-class, multi-label) and chords over time; decoding and reports.

Book page: ``book/tagging.md``.
"""

from mir101.tasks.tagging.chord_decoding import (
    chord_templates,
    frames_to_segments,
    smooth_scores,
    template_scores,
    write_lab,
)
from mir101.tasks.tagging.chords import ChordOptions, ChordRecognition
from mir101.tasks.tagging.common import POOLINGS, held_out_sets, inference_speed, with_pooling
from mir101.tasks.tagging.decoding import (
    PatchScores,
    filter_responses,
    frame_logits,
    patch_logits,
    pool_items,
    probabilities,
    top_labels,
)
from mir101.tasks.tagging.task import Tagging, TaggingOptions

__all__ = [
    "Tagging",
    "ChordRecognition",
    "ChordOptions",
    "chord_templates",
    "template_scores",
    "smooth_scores",
    "frames_to_segments",
    "write_lab",
    "TaggingOptions",
    "POOLINGS",
    "with_pooling",
    "held_out_sets",
    "inference_speed",
    "PatchScores",
    "patch_logits",
    "pool_items",
    "probabilities",
    "top_labels",
    "frame_logits",
    "filter_responses",
]

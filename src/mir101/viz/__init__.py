"""Plots people want to look at: inputs, piano-rolls, tag-o-grams, embeddings... (matplotlib)."""

from mir101.viz.inputs import plot_input

__all__ = ["plot_input"]

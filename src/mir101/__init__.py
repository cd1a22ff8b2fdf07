"""mir101: Deep Learning 101 for audio-based Music Information Retrieval.

A tested toolkit and runnable book built from the ISMIR 2024 tutorial "Deep Learning 101 for
Audio-based MIR" (Peeters, Meseguer-Brocal, Riou, Lattner):
https://geoffroypeeters.github.io/deeplearning-101-audiomir_book

Layers, in the one direction imports flow: ``data`` -> ``inputs`` -> ``bricks`` -> ``models`` ->
``paradigms`` -> ``tasks`` -> ``cli`` / book / benchmarks.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

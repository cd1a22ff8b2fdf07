"""The codec task: neural audio codecs (AE, VAE, VQ, RVQ bottlenecks) trained and judged on isolated notes.

Modules: :mod:`~mir101.tasks.codec.task` (the task), :mod:`~mir101.tasks.codec.engine` (a trained
model as an encoder / decoder at a chosen bitrate), :mod:`~mir101.tasks.codec.codes` (codes
files), :mod:`~mir101.tasks.codec.evaluation` (metrics), :mod:`~mir101.tasks.codec.report`.

Book page: ``book/bottlenecks.md``.
"""

from mir101.tasks.codec.codes import Codes, CodesFileError
from mir101.tasks.codec.engine import NeuralCodec, fingerprint
from mir101.tasks.codec.task import Codec, CodecOptions

__all__ = ["Codec", "CodecOptions", "NeuralCodec", "Codes", "CodesFileError", "fingerprint"]

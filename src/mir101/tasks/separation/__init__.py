"""The separation task: the voices of a chorale (or a track's stems) out of the mixture.

Modules: :mod:`~mir101.tasks.separation.task` (the task), :mod:`~mir101.tasks.separation.data`
(stems, training patches with remixing), :mod:`~mir101.tasks.separation.masks` (oracles, Wiener
post-filter, NMF), :mod:`~mir101.tasks.separation.report`.

Book page: ``book/separation.md``.
"""

from mir101.tasks.separation.task import BASELINES, Separation, SeparationOptions

__all__ = ["Separation", "SeparationOptions", "BASELINES"]

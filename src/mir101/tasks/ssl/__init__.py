"""Self-supervised learning: Siamese pretraining on unlabelled audio, judged by linear probes.

Book page: ``book/ssl.md``.
"""

from mir101.tasks.ssl.probes import fit_probe, fraction_name, labelled_subset, probe_scores, probe_table
from mir101.tasks.ssl.task import SelfSupervised, SSLOptions, write_embeddings

__all__ = [
    "SelfSupervised",
    "SSLOptions",
    "write_embeddings",
    "labelled_subset",
    "fit_probe",
    "probe_scores",
    "probe_table",
    "fraction_name",
]

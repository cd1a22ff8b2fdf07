"""Nearest-neighbour search over stored embeddings: faiss when installed, exact numpy otherwise.

A collection is embedded once (``mir101 cover index RUN STORE``) into an :class:`EmbeddingIndex`
file; a query is then one embedding and a k-nearest-neighbour search. With L2-normalised
embeddings the Euclidean ranking is the cosine ranking. ``faiss-cpu`` (``pip install
'mir101[cover]'``) gives an exact ``IndexFlatL2`` with BLAS and SIMD kernels (and the way to
approximate indexes for 10^7 and more); without it the same exact search runs in numpy.

References:
    J. Johnson, M. Douze, H. Jégou, "Billion-scale similarity search with GPUs", IEEE Trans. Big
    Data 2019, https://arxiv.org/abs/1702.08734 (faiss).

Book page: ``book/cover.md``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mir101.errors import ParameterError, StoreError

__all__ = ["EmbeddingIndex", "knn", "faiss_available", "BACKENDS"]

#: the search backends
BACKENDS = ("auto", "faiss", "numpy")

INDEX_VERSION = 1


def faiss_available() -> bool:
    """Whether ``faiss`` can be imported."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _numpy_knn(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    # squared distances |q|^2 - 2 q.b + |b|^2, one matrix product; the k smallest by argpartition
    d2 = (queries**2).sum(1)[:, None] - 2.0 * queries @ base.T + (base**2).sum(1)[None, :]
    k = min(k, base.shape[0])
    part = (
        np.argpartition(d2, k - 1, axis=1)[:, :k]
        if k < base.shape[0]
        else np.tile(np.arange(k), (len(queries), 1))
    )
    part_d = np.take_along_axis(d2, part, axis=1)
    order = np.argsort(part_d, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1)
    return np.sqrt(np.maximum(np.take_along_axis(part_d, order, axis=1), 0.0)), idx


def knn(
    base: np.ndarray, queries: np.ndarray, k: int, backend: str = "auto", faiss_index: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``base`` to each query, closest first.

    Args:
        base: ``(n, dim)`` stored embeddings (float32).
        queries: ``(q, dim)``.
        k: neighbours per query (at most ``n``).
        backend: ``"faiss"``, ``"numpy"`` or ``"auto"`` (faiss if installed).
        faiss_index: a faiss index already holding ``base`` (built once for many searches).

    Returns:
        ``(distances, indices)``, each ``(q, min(k, n))``; Euclidean distances.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"backend={backend!r} must be one of {list(BACKENDS)}")
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    if base.ndim != 2 or queries.shape[1] != base.shape[1]:
        raise ParameterError(
            f"knn: queries of dimension {queries.shape[-1]} against stored embeddings {base.shape}"
        )
    if k < 1:
        raise ParameterError(f"k={k} must be >= 1")
    use_faiss = backend == "faiss" or (backend == "auto" and faiss_available())
    if use_faiss:
        if not faiss_available():
            raise ParameterError("backend='faiss' but faiss is not installed (pip install faiss-cpu)")
        import faiss

        index = faiss_index
        if index is None:
            index = faiss.IndexFlatL2(base.shape[1])
            index.add(base)
        d2, idx = index.search(queries, min(k, base.shape[0]))
        return np.sqrt(np.maximum(d2, 0.0)), idx
    return _numpy_knn(base, queries, k)


@dataclass
class EmbeddingIndex:
    """Stored embeddings of a collection and what each row is.

    Args:
        embeddings: ``(n, dim)`` float32, L2-normalised.
        keys: the store key of each row.
        works: the ``work_id`` of each row ("" when unknown).
        titles: a readable name of each row.
        meta: the run, the store and the model fingerprint it was made with.
    """

    embeddings: np.ndarray
    keys: list[str]
    works: list[str]
    titles: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    _faiss: Any = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.keys)

    def search(
        self, queries: np.ndarray, k: int = 10, backend: str = "auto"
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, indices)`` of the ``k`` nearest stored rows of each query."""
        if backend != "numpy" and faiss_available() and self._faiss is None:
            import faiss

            self._faiss = faiss.IndexFlatL2(self.embeddings.shape[1])
            self._faiss.add(np.ascontiguousarray(self.embeddings, dtype=np.float32))
        return knn(self.embeddings, queries, k, backend, self._faiss if backend != "numpy" else None)

    def save(self, path: str | os.PathLike) -> Path:
        """Write an ``.npz`` (embeddings + a JSON header), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "version": INDEX_VERSION,
            "keys": self.keys,
            "works": self.works,
            "titles": self.titles,
            "meta": self.meta,
        }
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npz")
        np.savez(tmp, embeddings=self.embeddings.astype(np.float32), header=np.array(json.dumps(header)))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EmbeddingIndex:
        """Read a file :meth:`save` wrote; anything else is a one-line error."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                emb = np.asarray(f["embeddings"], dtype=np.float32)
                header = json.loads(str(f["header"]))
        except (OSError, ValueError, KeyError, EOFError, json.JSONDecodeError) as err:
            raise StoreError(
                f"{path}: not an embedding index written by 'mir101 cover index' ({type(err).__name__})"
            ) from err
        if not isinstance(header, dict) or header.get("version") != INDEX_VERSION or emb.ndim != 2:
            raise StoreError(f"{path}: not an embedding index of this mir101 version (make it again)")
        keys = list(header.get("keys") or [])
        if len(keys) != len(emb):
            raise StoreError(f"{path}: {len(emb)} embeddings for {len(keys)} keys: the file is damaged")
        return cls(emb, keys, list(header["works"]), list(header["titles"]), dict(header.get("meta") or {}))

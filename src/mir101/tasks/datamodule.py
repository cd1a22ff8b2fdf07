"""A LightningDataModule over train/valid datasets, with an epoch-seeded shuffle.

The shuffle order of epoch ``e`` depends only on ``(seed, e)``, so a run resumed after a kill
sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["EpochSeededSampler", "SupervisedDataModule"]


class EpochSeededSampler(Sampler[int]):
    """A random permutation per epoch drawn from ``seed + epoch``; Lightning calls ``set_epoch``.

    Under DDP each of the ``num_replicas`` processes takes every ``num_replicas``-th index of the
    same permutation (padded to equal length), like ``DistributedSampler``.
    """

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True):
        self.n, self.seed, self.shuffle, self.epoch = n, seed, shuffle, 0
        self.rank, self.replicas = 0, 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            self.rank, self.replicas = torch.distributed.get_rank(), torch.distributed.get_world_size()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + 1_000_003 * self.epoch)
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        if self.replicas > 1:
            total = -(-self.n // self.replicas) * self.replicas
            order = (order + order[: total - self.n])[self.rank : total : self.replicas]
        return iter(order)

    def __len__(self) -> int:
        return -(-self.n // self.replicas)


class SupervisedDataModule(L.LightningDataModule):
    """Train and validation loaders over ready-made datasets."""

    def __init__(
        self, train: Dataset, valid: Dataset | None, batch_size: int = 16, num_workers: int = 0, seed: int = 0
    ):
        super().__init__()
        self.train, self.valid = train, valid
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed

    def _loader(self, ds: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            sampler=EpochSeededSampler(len(ds), self.seed, shuffle=shuffle),  # type: ignore[arg-type]
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(self.valid, shuffle=False) if self.valid is not None and len(self.valid) else []

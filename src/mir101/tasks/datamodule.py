"""A LightningDataModule over train/valid datasets, with an epoch-seeded shuffle.

The shuffle order of epoch ``e`` depends only on ``(seed, e)``, so a run resumed after a kill
sees exactly the batches an uninterrupted run would have seen; the sampler shards itself under
DDP (:mod:`mir101.data.samplers`).
"""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader, Dataset, Sampler

from mir101.data.samplers import EpochSeededSampler

__all__ = ["SupervisedDataModule"]


class SupervisedDataModule(L.LightningDataModule):
    """Train and validation loaders over ready-made datasets.

    Args:
        train, valid: the datasets (``valid`` may be ``None`` or empty: no validation).
        batch_size: items per batch.
        num_workers: DataLoader worker processes.
        seed: the seed of the epoch-seeded shuffle.
        train_batch_sampler: batches the training loader draws instead of shuffled
            ``batch_size`` batches, e.g. a :class:`~mir101.data.samplers.PKSampler` for triplet
            mining (it shards itself too).
    """

    def __init__(
        self,
        train: Dataset,
        valid: Dataset | None,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
        train_batch_sampler: Sampler[list[int]] | None = None,
    ):
        super().__init__()
        self.train, self.valid = train, valid
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed
        self.train_batch_sampler = train_batch_sampler

    def _loader(self, ds: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            sampler=EpochSeededSampler(len(ds), self.seed, shuffle=shuffle),  # type: ignore[arg-type]
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        if self.train_batch_sampler is not None:
            return DataLoader(
                self.train,
                batch_sampler=self.train_batch_sampler,
                num_workers=self.num_workers,
                persistent_workers=self.num_workers > 0,
            )
        return self._loader(self.train, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(self.valid, shuffle=False) if self.valid is not None and len(self.valid) else []

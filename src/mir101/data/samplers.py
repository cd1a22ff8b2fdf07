"""Samplers that are reproducible per epoch and shard themselves across processes (DDP-safe).

Every sampler here derives from :class:`ShardedSampler`: it draws the whole epoch's order from
``(seed, epoch)`` alone, the same on every process, then keeps the share of its own rank: every
``world_size``-th element of the order, padded by repeating its start to a multiple of
``world_size`` (as ``torch.utils.data.DistributedSampler``). Hence

- a run resumed after a kill sees exactly the batches an uninterrupted run would have seen,
- under DDP the ranks see disjoint shares that together cover the epoch, with the same number
  of steps on every rank (no process waits for another at the last batch),

and a new sampler (for a new task) only writes :meth:`ShardedSampler.epoch_order`. Lightning calls
``set_epoch`` at each epoch (train with ``use_distributed_sampler=False``: the samplers shard
themselves); without Lightning, call it yourself.

- :class:`EpochSeededSampler`: a shuffle (or the identity), item by item.
- :class:`ClassBalancedSampler`: items drawn so that every class is equally likely (tagging).
- :class:`PKSampler`: a *batch* sampler of P groups x K items (triplet mining for cover songs).

Book page: ``book/intro.md`` (training).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterator, Sequence
from typing import Generic, TypeVar

import torch
from torch.utils.data import Sampler

from mir101.errors import ParameterError

__all__ = ["ShardedSampler", "EpochSeededSampler", "ClassBalancedSampler", "PKSampler", "distributed_rank"]

T = TypeVar("T")

#: multiplier of the epoch in the generator's seed (a prime: epochs of nearby seeds do not collide)
_EPOCH_STRIDE = 1_000_003


def distributed_rank() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: torch.distributed's if initialised, else ``(0, 1)``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class ShardedSampler(Sampler[T], Generic[T]):
    """Base class: an order per epoch drawn from ``(seed, epoch)``, sharded over the processes.

    Subclasses implement :meth:`epoch_order` (the whole epoch, identical on every rank) and may
    override :meth:`order_length` when it is known without drawing the order.

    Args:
        seed: the seed of every epoch's order.
        rank: this process's rank; ``None`` reads torch.distributed (0 when not initialised).
        world_size: the number of processes; ``None`` reads torch.distributed (1 when not
            initialised). Give both to simulate a rank in tests.
    """

    def __init__(self, seed: int = 0, rank: int | None = None, world_size: int | None = None):
        dist_rank, dist_world = distributed_rank()
        self.rank = dist_rank if rank is None else int(rank)
        self.world_size = dist_world if world_size is None else int(world_size)
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ParameterError(
                f"{type(self).__name__}: rank={self.rank} must be in [0, world_size={self.world_size})"
            )
        self.seed, self.epoch = int(seed), 0

    @property
    def replicas(self) -> int:
        """Alias of ``world_size`` (the former ``EpochSeededSampler`` attribute)."""
        return self.world_size

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order is drawn next (Lightning calls this every epoch)."""
        self.epoch = int(epoch)

    def generator(self) -> torch.Generator:
        """A CPU generator seeded by ``(seed, epoch)`` only."""
        return torch.Generator().manual_seed(self.seed + _EPOCH_STRIDE * self.epoch)

    def epoch_order(self, generator: torch.Generator) -> list[T]:
        """The whole epoch's order (all ranks together), drawn with ``generator`` only."""
        raise NotImplementedError

    def order_length(self) -> int:
        """Length of :meth:`epoch_order` (drawn once here unless a subclass knows it)."""
        return len(self.epoch_order(self.generator()))

    def __iter__(self) -> Iterator[T]:
        order = self.epoch_order(self.generator())
        if self.world_size > 1 and order:
            total = -(-len(order) // self.world_size) * self.world_size
            order = (order * -(-total // len(order)))[:total]  # pad by repeating the start
            order = order[self.rank : total : self.world_size]
        return iter(order)

    def __len__(self) -> int:
        return -(-self.order_length() // self.world_size)


class EpochSeededSampler(ShardedSampler[int]):
    """A random permutation of ``range(n)`` per epoch (or the identity if ``shuffle=False``).

    Args:
        n: the number of items.
        seed: the seed of every epoch's permutation.
        shuffle: shuffle, or keep the items in order (validation).
        rank, world_size: see :class:`ShardedSampler`.

    Examples:
        >>> [list(EpochSeededSampler(5, shuffle=False, rank=r, world_size=2)) for r in (0, 1)]
        [[0, 2, 4], [1, 3, 0]]
    """

    def __init__(
        self,
        n: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int | None = None,
        world_size: int | None = None,
    ):
        super().__init__(seed, rank, world_size)
        if n < 0:
            raise ParameterError(f"EpochSeededSampler: n={n} must be >= 0")
        self.n, self.shuffle = int(n), shuffle

    def epoch_order(self, generator: torch.Generator) -> list[int]:
        if not self.shuffle:
            return list(range(self.n))
        return torch.randperm(self.n, generator=generator).tolist()

    def order_length(self) -> int:
        return self.n


def _group_indices(labels: Sequence[Hashable], where: str) -> list[list[int]]:
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    if not groups:
        raise ParameterError(f"{where}: labels is empty")
    return list(groups.values())  # in order of first appearance: deterministic


class ClassBalancedSampler(ShardedSampler[int]):
    """Items drawn with replacement so that every class is equally likely: a class, then an item of it.

    Each draw picks a class uniformly, then one of its items uniformly, i.e. item ``i`` of class
    ``c`` has probability ``1 / (n_classes * |c|)`` (``WeightedRandomSampler`` with weights
    ``1 / class count``, made reproducible and sharded). Rare classes are seen as often as frequent
    ones, at the price of repeating their items. Single-label only (one class per item).

    Args:
        labels: the class of each item (any hashable), ``(n,)``.
        num_samples: draws per epoch (all ranks together); ``None``: ``len(labels)``.
        seed, rank, world_size: see :class:`ShardedSampler`.
    """

    def __init__(
        self,
        labels: Sequence[Hashable],
        num_samples: int | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ):
        super().__init__(seed, rank, world_size)
        self.groups = _group_indices(list(labels), "ClassBalancedSampler")
        self.num_samples = len(labels) if num_samples is None else int(num_samples)
        if self.num_samples < 1:
            raise ParameterError(f"ClassBalancedSampler: num_samples={num_samples} must be >= 1")

    def epoch_order(self, generator: torch.Generator) -> list[int]:
        classes = torch.randint(len(self.groups), (self.num_samples,), generator=generator).tolist()
        picks = torch.rand(self.num_samples, generator=generator).tolist()
        return [self.groups[c][int(u * len(self.groups[c]))] for c, u in zip(classes, picks)]

    def order_length(self) -> int:
        return self.num_samples


class PKSampler(ShardedSampler[list[int]]):
    """A batch sampler: each batch holds P groups x K items per group (e.g. P works x K versions).

    Batch-hard and semi-hard triplet mining (:class:`~mir101.losses.TripletMiner`) need every
    anchor to have positives in its batch: a random batch of a large collection holds almost no
    two versions of a work. Each epoch, the groups are shuffled and cut into batches of ``p``
    distinct groups (the last incomplete batch is dropped); from each group ``k`` items are drawn
    without replacement, or *with* replacement when the group has fewer than ``k`` items (so its
    items repeat in the batch). Batches are dealt to the ranks in turn. Pass it as
    ``DataLoader(dataset, batch_sampler=PKSampler(...))``; batches are lists of ``p * k`` indices,
    group after group.

    Args:
        labels: the group of each item (e.g. its work id), ``(n,)``.
        p: groups per batch (at most the number of groups).
        k: items per group.
        num_batches: batches per epoch (all ranks together); ``None``: ``n_groups // p``, each
            group once per epoch. More batches shuffle the groups again for each pass.
        seed, rank, world_size: see :class:`ShardedSampler`.

    Examples:
        >>> s = PKSampler([0, 0, 1, 1, 1, 2, 2, 3], p=2, k=2)
        >>> [len(b) for b in s]
        [4, 4]

    References:
        Hermans, Beyer & Leibe, "In Defense of the Triplet Loss for Person Re-Identification",
        2017, https://arxiv.org/abs/1703.07737 (section 2: P x K batches)
    """

    def __init__(
        self,
        labels: Sequence[Hashable],
        p: int,
        k: int,
        num_batches: int | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ):
        super().__init__(seed, rank, world_size)
        self.groups = _group_indices(list(labels), "PKSampler")
        if not 1 <= int(p) <= len(self.groups):
            raise ParameterError(
                f"PKSampler: p={p} must be between 1 and the number of groups ({len(self.groups)})"
            )
        if int(k) < 1:
            raise ParameterError(f"PKSampler: k={k} must be >= 1")
        self.p, self.k = int(p), int(k)
        self.num_batches = len(self.groups) // self.p if num_batches is None else int(num_batches)
        if self.num_batches < 1:
            raise ParameterError(f"PKSampler: num_batches={num_batches} must be >= 1")

    @property
    def sampler(self) -> PKSampler:
        """Itself: Lightning calls ``set_epoch`` on ``dataloader.batch_sampler.sampler``."""
        return self

    def _items(self, group: list[int], generator: torch.Generator) -> list[int]:
        if len(group) >= self.k:
            pick = torch.randperm(len(group), generator=generator)[: self.k]
        else:
            pick = torch.randint(len(group), (self.k,), generator=generator)
        return [group[i] for i in pick.tolist()]

    def epoch_order(self, generator: torch.Generator) -> list[list[int]]:
        per_pass = len(self.groups) // self.p
        batches: list[list[int]] = []
        while len(batches) < self.num_batches:
            order = torch.randperm(len(self.groups), generator=generator).tolist()
            for b in range(min(per_pass, self.num_batches - len(batches))):
                chosen = order[b * self.p : (b + 1) * self.p]
                batches.append([i for g in chosen for i in self._items(self.groups[g], generator)])
        return batches

    def order_length(self) -> int:
        return self.num_batches

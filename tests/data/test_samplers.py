"""Samplers: reproducible per (seed, epoch), disjoint shards covering the epoch under world size 2."""

from __future__ import annotations

import doctest
from collections import Counter

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import mir101.data.samplers as samplers_module
from mir101.data.samplers import ClassBalancedSampler, EpochSeededSampler, PKSampler, ShardedSampler
from mir101.errors import ParameterError


def shards(make, epoch=0, world=2):
    out = []
    for rank in range(world):
        s = make(rank=rank, world_size=world)
        s.set_epoch(epoch)
        out.append(list(s))
    return out


@pytest.mark.parametrize("epoch", [0, 1, 5])
def test_two_ranks_are_disjoint_and_cover_every_item(epoch):
    a, b = shards(lambda **kw: EpochSeededSampler(10, seed=3, **kw), epoch)
    assert len(a) == len(b) == 5
    assert not set(a) & set(b) and sorted(a + b) == list(range(10))


def test_uneven_count_pads_like_distributed_sampler():
    a, b = shards(lambda **kw: EpochSeededSampler(7, seed=0, **kw))
    assert len(a) == len(b) == 4  # same number of steps on both ranks
    assert set(a) | set(b) == set(range(7)) and len(set(a) & set(b)) == 1  # one padding repeat
    s = EpochSeededSampler(7, rank=0, world_size=2)
    assert len(s) == 4


def test_same_seed_and_epoch_same_order_other_epoch_other_order():
    def order(seed, epoch):
        s = EpochSeededSampler(50, seed=seed, rank=0, world_size=1)
        s.set_epoch(epoch)
        return list(s)

    assert order(0, 2) == order(0, 2)
    assert order(0, 2) != order(0, 3) and order(0, 2) != order(1, 2)
    assert sorted(order(0, 2)) == list(range(50))


def test_order_is_unchanged_from_the_former_sampler():
    # the formula of tasks/datamodule.py's EpochSeededSampler: resumed runs see the same batches
    s = EpochSeededSampler(20, seed=7, rank=0, world_size=1)
    s.set_epoch(4)
    expected = torch.randperm(20, generator=torch.Generator().manual_seed(7 + 1_000_003 * 4)).tolist()
    assert list(s) == expected


def test_no_shuffle_keeps_order():
    assert list(EpochSeededSampler(4, shuffle=False, rank=0, world_size=1)) == [0, 1, 2, 3]


def test_reads_world_from_torch_distributed_when_not_given():
    s = EpochSeededSampler(4)
    assert (s.rank, s.world_size, s.replicas) == (0, 1, 1)  # not initialised here
    with pytest.raises(ParameterError, match="rank=2"):
        EpochSeededSampler(4, rank=2, world_size=2)


def test_class_balanced_draws_classes_equally_and_shards():
    labels = ["rare"] * 5 + ["common"] * 95
    s = ClassBalancedSampler(labels, num_samples=4000, seed=1, rank=0, world_size=1)
    counts = Counter(labels[i] for i in s)
    assert abs(counts["rare"] / 4000 - 0.5) < 0.03
    a, b = shards(lambda **kw: ClassBalancedSampler(labels, num_samples=10, seed=1, **kw))
    full = list(ClassBalancedSampler(labels, num_samples=10, seed=1, rank=0, world_size=1))
    assert a == full[0::2] and b == full[1::2]


def test_pk_batches_hold_p_groups_of_k_items():
    labels = [g for g in range(6) for _ in range(3 + g % 2)] + [6]  # groups of 3, 4 and one of 1
    s = PKSampler(labels, p=3, k=2, seed=0, rank=0, world_size=1)
    batches = list(s)
    assert len(batches) == len(s) == 7 // 3
    for batch in batches:
        assert len(batch) == 6
        groups = [labels[i] for i in batch]
        assert len(set(groups)) == 3 and all(c == 2 for c in Counter(groups).values())
        assert groups == sorted(groups, key=groups.index)  # group after group
    # a group smaller than k is drawn with replacement
    s1 = PKSampler([0, 1, 1], p=2, k=3, seed=0, rank=0, world_size=1)
    (batch,) = list(s1)
    assert len(batch) == 6 and batch.count(0) == 3 and set(batch[3:]) <= {1, 2}


def test_pk_each_group_once_per_epoch_and_shards_by_batch():
    labels = [g for g in range(8) for _ in range(4)]
    full = PKSampler(labels, p=2, k=4, seed=5, rank=0, world_size=1)
    full.set_epoch(1)
    batches = list(full)
    seen = sorted({labels[i] for b in batches for i in b})
    assert seen == list(range(8)) and len(batches) == 4  # every group exactly once
    a, b = shards(lambda **kw: PKSampler(labels, p=2, k=4, seed=5, **kw), epoch=1)
    assert a == batches[0::2] and b == batches[1::2]
    more = PKSampler(labels, p=2, k=4, num_batches=10, rank=0, world_size=1)
    assert len(list(more)) == 10


def test_pk_in_a_dataloader_and_set_epoch_through_sampler():
    labels = [g for g in range(4) for _ in range(3)]
    ds = TensorDataset(torch.arange(12), torch.tensor(labels))
    s = PKSampler(labels, p=2, k=2, rank=0, world_size=1)
    loader = DataLoader(ds, batch_sampler=s)
    x, y = next(iter(loader))
    assert x.shape == (4,) and len(set(y.tolist())) == 2
    loader.batch_sampler.sampler.set_epoch(3)  # what Lightning calls
    assert s.epoch == 3


def test_bad_arguments():
    with pytest.raises(ParameterError, match="p=5"):
        PKSampler([0, 1, 2], p=5, k=2)
    with pytest.raises(ParameterError, match="k=0"):
        PKSampler([0, 1, 2], p=1, k=0)
    with pytest.raises(ParameterError, match="num_samples=0"):
        ClassBalancedSampler([0, 1], num_samples=0)
    with pytest.raises(NotImplementedError):
        list(ShardedSampler())


def test_docstring_examples_run():
    result = doctest.testmod(samplers_module)
    assert result.attempted > 0 and result.failed == 0

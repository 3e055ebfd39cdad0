"""Which partitions the ``cost`` policy weighs (``decide.partition_candidates``)."""

from __future__ import annotations

from igoc.cost.decide import default_partition, partition_candidates
from igoc.schedule.describe import LayerDesc
from igoc.schedule.layer_schedule import Partition
from igoc.target import load_target

NAMES = {"X": "x", "W": "w", "dY": "dy", "dX": "dx", "dW": "dw"}


def layer(m: int, n: int, k: int) -> LayerDesc:
    shapes = {"X": (m, k), "W": (k, n), "dY": (m, n), "dX": (m, k), "dW": (k, n)}
    return LayerDesc("l", "matmul", ("dx", "dw"), NAMES, shapes)


def test_a_split_across_the_cores_is_weighed_down_to_parts_one_wide():
    """NCF's first hidden layer at batch 64 on eight 128-wide cores: N = 256 in eight parts
    of 32 (under half the array) is weighed, as are K in eight of 32; M = 64 too, the
    conventional batch split. Twice as many parts, 16 wide, are not."""
    target = load_target("server-8c")
    cands = partition_candidates(target, layer(64, 256, 256))
    assert cands[0] == default_partition(target) == Partition("m", 8, 8)
    assert set(cands) == {Partition("m", 8, 8), Partition("n", 8, 8), Partition("k", 8, 8)}


def test_a_dimension_narrower_than_the_cores_is_not_split():
    target = load_target("server-8c")
    assert Partition("n", 8, 8) not in partition_candidates(target, layer(64, 7, 256))
    assert Partition("n", 8, 8) in partition_candidates(target, layer(64, 8, 256))


def test_twice_as_many_parts_need_half_the_array_each():
    """On one core the only splits are into two parts run in turn, together at least the
    array's side (128 on the server NPU, 45 on edge's odd one); on four cores, eight
    parts need 8 · 64, while four need only one row or column each."""
    target = load_target("server")
    assert partition_candidates(target, layer(127, 128, 128)) == [
        Partition(),
        Partition("n", 2, 1),
        Partition("k", 2, 1),
    ]
    four = load_target("server-4c")
    cands = partition_candidates(four, layer(512, 511, 8))
    assert Partition("m", 8, 4) in cands and Partition("n", 8, 4) not in cands
    assert Partition("n", 4, 4) in cands and Partition("k", 4, 4) in cands


def test_the_double_split_keeps_its_rule_on_an_odd_sided_array():
    edge = load_target("edge")
    assert partition_candidates(edge, layer(4, 44, 8)) == [Partition()]
    assert partition_candidates(edge, layer(4, 45, 8)) == [Partition(), Partition("n", 2, 1)]

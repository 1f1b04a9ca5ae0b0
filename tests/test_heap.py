"""The garbage collector policy of a serving process: survivors are frozen, cycles still die."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from server.cli import node_app
from server.heap import HeapKeeper


class Node:
    """A stand-in for a connection's objects: they point at each other, as aiohttp's do."""

    def __init__(self) -> None:
        self.peer: Node | None = None


def cycle() -> tuple[Node, weakref.ref]:
    first, second = Node(), Node()
    first.peer, second.peer = second, first
    return first, weakref.ref(second)


@pytest.fixture
def keeper() -> Iterator[HeapKeeper]:
    gc.collect()
    yield HeapKeeper(min_reclaim_objects=10**9)
    gc.unfreeze()


def test_a_fold_moves_live_objects_out_of_the_collectors_walk(keeper):
    alive = [Node() for _ in range(1000)]
    keeper.fold()
    tracked = {id(o) for o in gc.get_objects()}
    assert not any(id(node) in tracked for node in alive)
    assert keeper.frozen >= 1000
    assert gc.get_freeze_count() >= 1000


def test_young_cyclic_garbage_is_collected_before_a_fold_not_frozen(keeper):
    gc.disable()  # no automatic collection may get there first
    try:
        head, watch = cycle()
        del head
        assert watch() is not None
        keeper.fold()
    finally:
        gc.enable()
    assert watch() is None


def test_a_frozen_cycle_that_dies_waits_for_a_reclaim_which_doubling_triggers(keeper):
    head, watch = cycle()
    keeper.fold()
    del head
    gc.collect()
    assert watch() is not None  # frozen: the routine collections do not see it
    keeper.fold()
    assert watch() is not None and keeper.reclaims == 0

    keeper.min_reclaim_objects = keeper.reclaim_above = 0  # as if the frozen heap had doubled
    alive = [Node() for _ in range(10)]
    keeper.fold()
    assert watch() is None
    assert keeper.reclaims == 1 and keeper.reclaimed >= 2
    assert keeper.reclaim_above == 2 * keeper.frozen
    assert all(id(node) not in {id(o) for o in gc.get_objects()} for node in alive)


async def test_a_serving_node_reports_its_collector_in_metrics(aiohttp_client, config):
    client = await aiohttp_client(node_app(config))
    try:
        text = await (await client.get("/metrics")).text()
    finally:
        await client.close()
    assert "sidang_gc_frozen_objects " in text
    assert "sidang_gc_reclaims_total 0" in text
    assert gc.get_freeze_count() == 0  # the process is back to normal once the app is gone

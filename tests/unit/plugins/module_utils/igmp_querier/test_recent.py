"""The bounded per-source table: eviction of the longest silent, pruning from the old end."""

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.recent import RecentTable


def test_touch_keeps_the_order_of_last_seen_and_evicts_the_oldest():
    t = RecentTable(3)
    for i, address in enumerate(["a", "b", "c"]):
        t.touch(address, float(i))
    t.touch("a", 5.0)  # a moves to the new end
    t.touch("d", 6.0)  # b, the longest silent, makes room
    assert [a for a, _w in t.items()] == ["c", "a", "d"]
    assert (len(t), t.evicted, "b" in t) == (3, 1, False)


def test_prune_drops_only_entries_seen_before_the_bound():
    t = RecentTable(10)
    for i in range(5):
        t.touch(str(i), float(i))
    assert t.prune(2.0) == 2
    assert [a for a, _w in t.items()] == ["2", "3", "4"]
    assert t.prune(2.0) == 0
    assert t.get("3") == 3.0 and t.pop("3") == 3.0 and t.get("3") is None

"""The group-specific query schedule alone: coalescing, pacing, cancelling, its bound."""

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.gsq import GroupQueries


def drain(schedule, until, interval=1.0):
    out = []
    while True:
        when = schedule.next_deadline()
        if when is None or when > until:
            return out
        out.extend((when, g) for g in schedule.pop_due(when, interval))


def test_each_group_gets_its_count_spaced_by_the_interval():
    s = GroupQueries()
    assert s.request("239.1.1.1", 2, 10.0)
    assert s.pop_due(10.0, 1.0) == ["239.1.1.1"]
    assert s.next_deadline() == 11.0
    assert s.pop_due(10.999, 1.0) == []
    assert s.pop_due(11.0, 1.0) == ["239.1.1.1"]
    assert s.next_deadline() is None and len(s) == 0


def test_a_pending_group_is_coalesced():
    s = GroupQueries()
    assert s.request("239.1.1.1", 2, 0.0)
    assert not s.request("239.1.1.1", 2, 0.5)
    assert [g for _t, g in drain(s, 10.0)] == ["239.1.1.1", "239.1.1.1"]


def test_cancel_then_request_again_sends_one_set_only():
    s = GroupQueries()
    s.request("239.1.1.1", 2, 0.0)
    s.cancel("239.1.1.1")
    assert s.next_deadline() is None
    s.request("239.1.1.1", 2, 5.0)
    assert drain(s, 20.0) == [(5.0, "239.1.1.1"), (6.0, "239.1.1.1")]


def test_the_rate_holds_after_the_burst():
    s = GroupQueries(rate=10.0, burst=5)
    for i in range(30):
        s.request("239.0.0.%d" % (i + 1), 1, 0.0)
    sent = drain(s, 10.0)
    assert len(sent) == 30
    assert [t for t, _g in sent[:5]] == [0.0] * 5
    assert sent[-1][0] == 2.5  # 25 more at 10 per second
    for i in range(5, 30):
        assert sent[i][0] >= (i - 5 + 1) / 10.0 - 1e-9


def test_the_schedule_is_bounded_and_counts_what_it_drops():
    s = GroupQueries(max_pending=3)
    assert all(s.request("239.0.0.%d" % i, 2, 0.0) for i in (1, 2, 3))
    assert not s.request("239.0.0.4", 2, 0.0)
    assert s.dropped == 1 and len(s) == 3

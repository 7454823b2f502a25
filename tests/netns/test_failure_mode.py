"""The problem the product fixes, on a real Linux bridge, and the daemon fixing it.

Without a querier, a snooping bridge forgets a member one membership interval after its last
report, and a stream to the group stops reaching it. With the daemon running, the member
answers every General Query, its entry stays and the stream keeps flowing, across several
membership intervals.

As on the cheap switches this is about, the bridge has seen one query once (so it forwards by
its snooping table instead of flooding) and believes in a querier longer than it keeps members
(mcast_querier_interval 60 s > mcast_membership_interval 4 s).
"""

import time

import pytest

from tests.netns import lab as netlab

pytestmark = pytest.mark.root

GROUP = "239.1.2.3"
PORT = 5001
MI = netlab.MEMBERSHIP_INTERVAL


def _received_between(member, start, end):
    return [t for t in member.arrivals() if start <= t < end]


@pytest.mark.slow  # ~15-20 s: several membership intervals / timeouts
def test_membership_ages_out_without_querier_and_stays_with_the_daemon(lab):
    querier_host = lab.add_host("q", "10.0.0.1")
    member_host = lab.add_host("m", "10.0.0.2")
    source = lab.add_host("s", "10.0.0.3")
    member_host.quick_reports()  # the kernel's join report and its one retransmission within 0.1 s

    # One query, once (a querier that has since gone away): the bridge now forwards by snooping.
    querier_host.send_igmp(netlab.codec.encode_query_v2(5), "224.0.0.1")
    netlab.wait_until(lambda: lab.router_ports() == ["p1"], 3, "the bridge learns the querier's port")

    member = member_host.join(GROUP, PORT)
    stream = source.stream(GROUP, PORT, interval=0.05)
    netlab.wait_until(lambda: lab.mdb_ports(GROUP) == ["p2"], 3, "the member's report is snooped")
    seen = time.monotonic()
    netlab.wait_until(lambda: len(member.arrivals()) >= 5, 3, "the stream reaches the member")

    # --- the failure mode: no querier, the entry ages out and the stream stops at the member ---
    netlab.wait_until(lambda: not lab.mdb_ports(GROUP), MI + 5, "the member's mdb entry ages out")
    lasted = time.monotonic() - seen
    assert lasted >= MI - 0.5, "entry vanished after %.1f s, before the membership interval (%g s)" % (lasted, MI)
    gone = time.time()
    time.sleep(1.5)
    assert not lab.mdb_ports(GROUP), "the entry came back although nobody queried"
    late = _received_between(member, gone + 0.2, time.time())
    assert late == [], "the member still got %d datagrams after its entry aged out" % len(late)
    assert stream.sent > 0 and member.sock is not None  # still joined, source still sending

    # --- the fix: the daemon queries, the member reports, the entry and the stream stay ---
    daemon = querier_host.daemon(*netlab.FAST)
    netlab.wait_until(lambda: lab.mdb_ports(GROUP) == ["p2"], 3, "the member answers the daemon's query")
    start = time.time()
    missing = []
    deadline = time.monotonic() + 3 * MI
    while time.monotonic() < deadline:
        if lab.mdb_ports(GROUP) != ["p2"]:
            missing.append(round(time.time() - start, 2))
        time.sleep(0.2)
    end = time.time()
    assert missing == [], "the member's entry was missing at %s s with the daemon running" % missing

    arrivals = _received_between(member, start, end)
    gaps = [b - a for a, b in zip([start] + arrivals, arrivals + [end])]
    assert max(gaps) < 1.0, "the stream to the member paused for %.2f s with the daemon running" % max(gaps)

    assert daemon.alive()
    state = daemon.state()
    assert state["role"] == "querier" and state["address"] == "10.0.0.1"
    assert state["queries_sent"] >= 3 * MI - 1
    assert GROUP in netlab.statefile.group_names(state)

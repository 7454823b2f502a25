"""A hostile or misconfigured host on the LAN against a real daemon on a snooping bridge.

- one forged IGMPv3 query (QRV 7, QQIC 31,744 s) silences the daemon no longer than the
  switches' membership timer allows, and after the takeover it queries at its own interval;
- queries hosts would not answer (unicast, a General Query to 224.0.0.2, TTL 64 or 0, malformed IP
  options, a group-specific query not sent to its group) never win; the same query, well
  addressed, from the same injection path does;
- with the group table flooded full, a real member's leave still gets its group-specific queries
  and the bridge prunes the departed port at once instead of after the membership interval.
Queries are read from a capture on another host, not from the daemon's own account.
"""

import os
import time

import pytest

from tests.netns import lab as netlab

pytestmark = pytest.mark.root

codec = netlab.codec
DAEMON = "10.0.0.10"
EVIL = "10.0.0.5"  # lower than the daemon: its queries would win if they counted


def _gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


@pytest.mark.slow  # ~20 s
def test_a_forged_qqic_query_silences_the_daemon_no_longer_than_the_snooping_timeout(lab):
    # --snooping-timeout 12 with -r 1: the takeover timeout in force is at most 12 - 1 - 1 = 10 s.
    daemon_host = lab.add_host("q", DAEMON)
    evil = lab.add_host("evil", EVIL)
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemon = daemon_host.daemon("-q", "2", "-r", "1", "--igmp-version", "3", "--snooping-timeout", "12")
    daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 2, 6, "querying")

    evil.send_igmp(codec.encode_query_v3(10, 7, 31744), codec.ALL_HOSTS)  # through the bridge
    forged = time.time()
    state = daemon.wait_state(lambda s: s["role"] == "non-querier", 3, "the forged query heard")
    assert state["querier"] == EVIL
    assert state["effective"]["timeout"] == 10.0, state["effective"]
    assert state["effective"]["query_interval"] == 31744.0  # adopted as advertised, its effect capped
    assert "advertises timers" in daemon.log()

    takeover = capture.wait_query(src=DAEMON, since=forged + 0.5, timeout=14)
    silent = takeover.time - forged
    assert 10.0 - 0.2 <= silent <= 10.0 + 1.0, "silent for %.1f s after the forged query" % silent
    netlab.wait_until(lambda: len(capture.queries(src=DAEMON, since=takeover.time)) >= 4, 9,
                      "queries after the takeover")
    after = [f.time for f in capture.queries(src=DAEMON, since=takeover.time)]
    assert all(abs(gap - 2.0) < 0.5 for gap in _gaps(after)), "not the own 2 s interval: %s" % _gaps(after)
    state = daemon.wait_state(lambda s: s["role"] == "querier", 2, "querier again")
    assert state["effective"]["query_interval"] == 2.0 and state["effective"]["robustness"] == 2
    assert state["takeovers"] == 1


def _misaddressed(daemon_mac):
    """(what, datagram, destination IP, destination MAC or None, the daemon's reason) from EVIL."""
    general = codec.encode_query_v2(10)
    specific = codec.encode_query_v2(10, "239.1.1.1")

    def ip(dst, payload=general, **kw):
        return codec.encode_ipv4(EVIL, dst, payload, **kw)

    return [
        ("unicast to the daemon", ip(DAEMON), DAEMON, daemon_mac, "general query sent to %s" % DAEMON),
        ("general query to 224.0.0.2", ip(codec.ALL_ROUTERS), codec.ALL_ROUTERS, None, "sent to 224.0.0.2"),
        ("IP TTL 64", ip(codec.ALL_HOSTS, ttl=64), codec.ALL_HOSTS, None, "IP TTL 64"),
        ("IP TTL 0", ip(codec.ALL_HOSTS, ttl=0), codec.ALL_HOSTS, None, "IP TTL 0"),
        ("malformed IP options", ip(codec.ALL_HOSTS, options=b"\x94\x03\x00\x00"), codec.ALL_HOSTS, None,
         "malformed IP options"),
        ("group-specific query to 224.0.0.1", ip(codec.ALL_HOSTS, specific), codec.ALL_HOSTS, None,
         "query for group 239.1.1.1 sent to 224.0.0.1"),
    ]


@pytest.mark.slow  # ~10 s
def test_misaddressed_queries_never_win_and_the_well_addressed_control_does(lab):
    daemon_host = lab.add_host("q", DAEMON)
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemon = daemon_host.daemon(*netlab.FAST, "-v")
    daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 2, 5, "querying")
    start = time.time()
    variants = _misaddressed(daemon_host.mac())
    for count, (what, datagram, dst, mac, reason) in enumerate(variants, 1):
        daemon_host.inject_on_port(datagram, dst, mac)  # straight onto the daemon's link
        state = daemon.wait_state(lambda s, n=count: s["queries_ignored"] >= n, 3, "%s ignored" % what)
        assert state["role"] == "querier" and state["querier"] == DAEMON, "%s won: %s" % (what, state)
        assert state["queries_heard"] == 0 and state["elections_lost"] == 0
        daemon.wait_log(reason, 2)  # one debug line each: within the log budget (10 per 10 s)
    time.sleep(1.5)
    mine = [f.time for f in capture.queries(src=DAEMON, since=start)]
    assert len(mine) >= 2 and max(_gaps([start] + mine + [time.time()])) < 1.8, "the daemon paused: %s" % mine

    # The control: the same query, well addressed, down the same injection path, wins at once.
    daemon_host.inject_on_port(codec.encode_ipv4(EVIL, codec.ALL_HOSTS, codec.encode_query_v2(10)))
    state = daemon.wait_state(lambda s: s["role"] == "non-querier", 2, "the control query wins")
    assert state["querier"] == EVIL and state["queries_heard"] == 1
    assert state["queries_ignored"] == len(variants)


@pytest.fixture
def long_lab(tmp_path):
    """A bridge that keeps members 12 s: long enough to tell a pruned port from an aged-out one."""
    reason = netlab.unavailable_reason()
    if reason:
        pytest.skip("network-namespace lab unavailable: %s" % reason)
    os.chmod(str(tmp_path), 0o755)
    with netlab.Lab(membership_interval=12.0, workdir=str(tmp_path)) as the_lab:
        yield the_lab


def _flood(daemon_host, groups, per_report=100):
    """IGMPv3 reports joining ``groups`` groups, injected straight onto the daemon's link."""
    names = ["239.100.%d.%d" % (i // 250, i % 250 + 1) for i in range(groups)]
    for start in range(0, groups, per_report):
        records = [codec.GroupRecord(codec.CHANGE_TO_EXCLUDE, g) for g in names[start:start + per_report]]
        payload = codec.encode_report_v3(records)
        daemon_host.inject_on_port(codec.encode_ipv4("10.0.0.66", "224.0.0.22", payload), "224.0.0.22")


@pytest.mark.slow  # ~15 s
def test_a_full_group_table_does_not_keep_a_departed_port_on_the_stream(long_lab):
    lab = long_lab
    daemon_host = lab.add_host("q", "10.0.0.1")
    member = lab.add_host("m", "10.0.0.11")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    member.sysctl("net.ipv4.conf.eth0.force_igmp_version", 2)  # leaving sends an IGMPv2 Leave
    member.quick_reports()
    daemon = daemon_host.daemon("-q", "4", "-r", "1")  # the flood's groups last 2 x 4 + 1 = 9 s
    daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 1, 5, "querying")
    netlab.wait_until(lambda: lab.router_ports() == [daemon_host.port], 5, "the bridge learns the querier")

    _flood(daemon_host, 4500)
    state = daemon.wait_state(lambda s: len(s["groups"]) == 4096 and s["groups_overflow"] >= 404, 5,
                              "the table flooded full")
    group = "239.5.5.5"
    membership = member.join(group)
    netlab.wait_until(lambda: lab.mdb_ports(group) == [member.port], 3, "the bridge snoops the member")
    state = daemon.wait_state(lambda s: s["groups_overflow"] >= 405, 6, "the member's report refused (state written each interval)")
    assert group not in netlab.statefile.group_names(state)
    assert daemon.log().count("is full") == 1  # warned, once (rate-limited)

    left = time.time()
    membership.leave()
    first = capture.wait_query(src="10.0.0.1", since=left, timeout=2, general=False)
    assert first.message.group == group and first.dst == group
    netlab.wait_until(lambda: member.port not in lab.mdb_ports(group), 6, "the departed port pruned")
    pruned = time.time() - left
    assert pruned < 4.0, "the port kept the group %.1f s after the leave (membership interval 12 s)" % pruned
    assert daemon.alive()

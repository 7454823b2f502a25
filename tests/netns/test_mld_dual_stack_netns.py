"""IGMP and MLD queriers in one daemon on one interface, and the IPv4 side unchanged by it.

One daemon with ``--mld-version 2``: both state sections say querier, both families' General
Queries leave the interface (read back by scapy from a capture on another host: IGMPv2 with
TTL 1 and Router Alert to 224.0.0.1; MLDv2 with Hop Limit 1 and Hop-by-Hop Router Alert to
ff02::1 from the link-local address, checksums correct), and a member answers both (its groups
of both families reach the daemon's group tables). The same daemon without the flag, on the same
host, sends the same IGMP queries in the same rhythm and writes the same IPv4 state.
"""

import time

import pytest

from tests.netns import lab as netlab
from tests.netns import lab6

pytestmark = pytest.mark.root

V4, V6 = "10.0.0.1", "fe80::1"
ARGS = ("-q", "1", "-r", "0.5")
WINDOW = 4.0  # startup burst (two queries 0.25 s apart) and three more at -q 1
GROUP4, GROUP6 = "239.1.2.3", "ff05::1:2:3"
#: State keys that describe the IPv4 querier (counters and times excluded: they depend on the run).
SAME = ("interface", "address", "link", "role", "querier", "igmp_version", "timers", "effective")


def _igmp_queries(capture, since):
    """(offset from the first, version, max resp code, TTL, router alert, dst, checksum ok) of
    the IGMP queries from V4 since ``since``."""
    queries = capture.queries(family=4, src=V4, since=since)
    assert queries, "no IGMP queries from %s" % V4
    start = queries[0].time
    return [(q.time - start, q.version, bytes(q.packet["IP"].payload)[1], q.hop_limit, q.router_alert, q.dst,
             q.checksum_ok) for q in queries]


def _ipv4_view(state):
    view = {key: state.get(key) for key in SAME}
    view["timers"] = {k: v for k, v in state["timers"].items() if k != "mld_version"}  # the flag itself
    return view


def _run(host, capture, *flags):
    since = time.time()
    daemon = host.daemon(*(flags + ARGS))
    daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 2, 5, "IGMP querier")
    netlab.wait_until(lambda: time.time() - since > WINDOW, WINDOW + 1, "the window")
    state = daemon.state()
    daemon.stop()
    return daemon, state, since


@pytest.mark.slow  # ~12 s: the daemon twice, and the bridge's router port for each family
def test_both_families_query_at_once_and_the_igmp_side_is_the_ipv4_only_one(lab):
    host = lab.add_host("q", V4)
    lab6.enable_ipv6(host, V6)
    member = lab.add_host("m", "10.0.0.200")
    lab6.enable_ipv6(member, "fe80::200")
    capture = lab6.QueryCapture(member)
    member.join(GROUP4)
    lab6.join(member, GROUP6)
    time.sleep(0.5)  # the join reports are over before any daemon runs

    _plain, plain_state, plain_since = _run(host, capture)
    plain = _igmp_queries(capture, plain_since)
    assert capture.queries(family=6, since=plain_since) == [], "MLD queries from a daemon without --mld-version"
    assert "mld" not in plain_state

    time.sleep(0.3)
    dual, dual_state, dual_since = _run(host, capture, "--mld-version", "2")
    both = _igmp_queries(capture, dual_since)
    mld = dual_state.get("mld")
    assert isinstance(mld, dict), "no mld object in the state file:\n%s" % dual.log()
    assert (dual_state["role"], dual_state["querier"]) == ("querier", V4)
    assert (mld["role"], mld["querier"], mld["address"], mld["mld_version"]) == ("querier", V6, V6, 2)

    # The IPv4 side: the same queries, the same rhythm, the same state, MLD or not.
    assert [q[1:] for q in both[:len(plain)]] == [q[1:] for q in plain][:len(both)]
    assert abs(len(both) - len(plain)) <= 1, "IGMP queries in %g s: %d IPv4-only, %d with MLD" % (
        WINDOW, len(plain), len(both))
    offsets = [(round(p[0], 2), round(b[0], 2)) for p, b in zip(plain, both)]
    assert all(abs(p - b) < 0.15 for p, b in offsets), "IGMP query times IPv4-only vs with MLD: %s" % offsets
    assert _ipv4_view(dual_state) == _ipv4_view(plain_state)
    assert plain[0][1:] == (2, 5, 1, True, "224.0.0.1", True)  # IGMPv2, 0.5 s, TTL 1, Router Alert

    # The IPv6 side on the wire, as hosts and the bridge require it.
    mld_queries = capture.queries(family=6, src=V6, since=dual_since)
    assert len(mld_queries) >= len(both) - 1, "%d MLD against %d IGMP queries" % (len(mld_queries), len(both))
    first = mld_queries[0]
    assert (first.dst, first.hop_limit, first.router_alert, first.version, first.checksum_ok, first.general) == \
        (lab6.ALL_NODES, 1, True, 2, True, True), first.packet.show(dump=True)
    assert first.packet["IPv6"].plen == 8 + 28, "MLDv2 query behind an 8-octet Hop-by-Hop header"
    assert first.packet["ICMPv6MLQuery2"].mrd == 500

    # The member's kernel took the queries of both families and answered them.
    assert GROUP4 in netlab.statefile.group_names(dual_state)
    assert lab6.normal(GROUP6) in [lab6.normal(g["group"]) for g in mld["groups"]], mld["groups"]

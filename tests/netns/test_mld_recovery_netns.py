"""The MLD side survives what happens to the interface's link and link-local address.

- Link down and up: the kernel drops every link-local address on link down, and here (as with
  ``addrgenmode none`` on a host whose network configuration re-adds its address) the address
  comes back only after the link. The IGMP side queries again at once; the MLD side waits for
  the address, then starts with the startup burst again.
- Link-local change: a new address that is still tentative (DAD) is never a source; once usable,
  queries come from it and the election runs against it, as for an IPv4 address change.

Each test checks the pid stays the same (no restart) and reads who queries from a capture on
another host, decoded by scapy.
"""

import time

import pytest

from tests.netns import lab as netlab
from tests.netns import lab6

pytestmark = pytest.mark.root

TIMEOUT = 3.0
ARGS = ("--mld-version", "2") + netlab.FAST + ("-t", str(TIMEOUT))


def _sources(capture, family, seconds=2.2):
    since = time.time()
    time.sleep(seconds)
    return {q.src for q in capture.queries(family=family, since=since)}


def _flap_then_readd(lab):
    """Link down and up with the daemon running, the link-local re-added a second after the up;
    returns (daemon, capture, the time it was re-added). Checks the two families on the way."""
    host = lab.add_host("q", "10.0.0.1")
    lab6.enable_ipv6(host, "fe80::1")
    capture = lab6.QueryCapture(lab.add_host("obs", "10.0.0.200"))
    daemon = host.daemon("--mld-version", "2", "-q", "2", "-r", "0.5")  # startup: 0.5 s apart, then every 2 s
    capture.wait_query(6, src="fe80::1", timeout=5)

    host.link_down()
    daemon.wait_state(lambda s: s["link"] == "down", 3, "link down in the state file")
    assert lab6.link_locals(host) == {}, "the kernel kept a link-local address over link down"
    time.sleep(0.3)
    assert _sources(capture, None, 1.5) == set(), "queries with the link down"

    up = time.time()
    host.link_up()
    first4 = capture.wait_query(4, src="10.0.0.1", since=up, timeout=3)
    assert first4.time - up < 1.0, "first IGMP query %.2f s after the link came up" % (first4.time - up)
    lab6.wait_mld_state(daemon, lambda m: m["address"] is None, 3, "MLD waiting without a link-local")
    time.sleep(1.0)
    assert capture.queries(6, since=up) == [], "MLD queries without a link-local address"

    readded = time.time()
    lab6.add_link_local(host, "fe80::1")
    return daemon, capture, readded


@pytest.mark.slow  # ~9 s
def test_link_flap_igmp_queries_at_once_mld_waits_for_the_link_local_then_queries(lab):
    daemon, capture, readded = _flap_then_readd(lab)
    pid = daemon.pid
    first = capture.wait_query(6, src="fe80::1", since=readded, timeout=3)
    assert first.time - readded < 2.0 + 0.5, "first MLD query %.2f s after the address came back" % (first.time - readded)
    lab6.wait_mld_state(daemon, lambda m: m["address"] == "fe80::1" and m["role"] == "querier", 2, "querier again")
    assert daemon.state()["role"] == "querier"
    assert daemon.alive() and daemon.pid == pid == daemon.state()["pid"]


@pytest.mark.slow  # ~10 s
def test_link_flap_mld_starts_up_again_with_the_burst_once_the_link_local_is_back(lab):
    _daemon, capture, readded = _flap_then_readd(lab)
    capture.wait_query(6, src="fe80::1", since=readded, timeout=3)
    time.sleep(3.0)
    sent = [q.time - readded for q in capture.queries(6, src="fe80::1", since=readded)]
    assert len(sent) >= 3, sent
    assert sent[0] < 1.0, "first MLD query %.2f s after the address came back" % sent[0]
    assert abs(sent[1] - sent[0] - 0.5) < 0.15, "no startup burst: %s" % sent
    assert abs(sent[2] - sent[1] - 2.0) < 0.15, sent


@pytest.mark.slow  # ~15 s: a timeout and two changes
def test_link_local_change_tentative_never_a_source_then_election_against_the_new_one(lab):
    a = lab.add_host("a", "10.0.0.1")
    b = lab.add_host("b", "10.0.0.2")
    lab6.enable_ipv6(a, "fe80::20")
    lab6.enable_ipv6(b, "fe80::30")
    capture = lab6.QueryCapture(lab.add_host("obs", "10.0.0.200"))
    da, db = a.daemon(*ARGS), b.daemon(*ARGS)
    pid = da.pid
    lab6.wait_mld_state(da, lambda m: m["role"] == "querier" and m["querier"] == "fe80::20", 5, "a querier")
    lab6.wait_mld_state(db, lambda m: m["role"] == "non-querier" and m["querier"] == "fe80::20", 5, "b non-querier")

    # fe80::20 -> fe80::40, the new one through DAD: never a source while tentative.
    changed = time.time()
    lab6.remove_link_local(a, "fe80::20")
    lab6.add_link_local(a, "fe80::40", dad=True)
    assert "tentative" in lab6.link_locals(a)["fe80::40"]
    tentative = lab6.wait_usable(a, "fe80::40", 5)
    first = capture.wait_query(6, src="fe80::40", since=changed, timeout=3)
    assert first.time > tentative, "a query from fe80::40 %.2f s before DAD ended" % (tentative - first.time)
    assert first.time - tentative < 1.0, "first query from the new address %.2f s after DAD" % (first.time - tentative)
    # b no longer hears fe80::20: it takes over when that one's timeout runs out; a, now higher, backs off.
    last_20 = max(q.time for q in capture.queries(6, src="fe80::20"))
    takeover = capture.wait_query(6, src="fe80::30", since=changed, timeout=TIMEOUT + 4)
    assert takeover.time - last_20 >= TIMEOUT - 0.05
    lab6.wait_mld_state(da, lambda m: (m["role"], m["querier"], m["address"]) == ("non-querier", "fe80::30", "fe80::40"),
                        3, "a lost to fe80::30 with its new address")
    assert _sources(capture, 6) == {"fe80::30"}

    # fe80::40 -> fe80::5 (nodad): now a is the lowest; it takes over at once and b backs off.
    changed = time.time()
    lab6.remove_link_local(a, "fe80::40")
    lab6.add_link_local(a, "fe80::5")
    first = capture.wait_query(6, src="fe80::5", since=changed, timeout=3)
    assert first.time - changed < 1.0
    lab6.wait_mld_state(db, lambda m: m["role"] == "non-querier" and m["querier"] == "fe80::5", 3, "b lost to fe80::5")
    lab6.wait_mld_state(da, lambda m: m["role"] == "querier" and m["address"] == "fe80::5", 3, "a querier again")
    assert _sources(capture, 6) == {"fe80::5"}
    assert da.alive() and da.pid == pid
    # The IGMP side never noticed: a (10.0.0.1) queried throughout.
    assert da.state()["role"] == "querier" and db.state()["querier"] == "10.0.0.1"

"""The Linux bridge's own MLD querier as a peer of the daemon (RFC 3810 s.7.6.2 on both sides).

The bridge queries from the link-local address of br0 (fe80::50, ``mcast_querier 1``,
``mcast_mld_version 2``) and, like the daemon, defers only to a lower address. A daemon at
fe80::100 must back off to it and stay silent; a daemon at fe80::5 must win, and then the bridge
falls silent; when that one dies the bridge queries again and the daemon at fe80::100 stays a
non-querier. Who queries is read from a capture on another host, decoded by scapy; what the
daemons decided, from their state files' "mld" object.
"""

import signal
import time

import pytest

from tests.netns import lab as netlab
from tests.netns import lab6

pytestmark = pytest.mark.root

BRIDGE_LL, HIGH, LOW = "fe80::50", "fe80::100", "fe80::5"
TIMEOUT = 3.0
ARGS = ("--mld-version", "2") + netlab.FAST + ("-t", str(TIMEOUT))
#: The bridge's "other querier present" interval: how long it stays silent after a lower query.
BRIDGE_OTHER_QUERIER = 3.0


def _mld_sources(capture, seconds):
    since = time.time()
    time.sleep(seconds)
    return [q.src for q in capture.queries(family=6, since=since)]


@pytest.mark.slow  # ~20 s: three phases with a timeout each
def test_daemon_backs_off_to_a_lower_bridge_querier_and_wins_against_a_higher_one(lab):
    high = lab.add_host("high", "10.0.0.1")
    low = lab.add_host("low", "10.0.0.2")
    lab6.enable_ipv6(high, HIGH)
    lab6.enable_ipv6(low, LOW)
    capture = lab6.QueryCapture(lab.add_host("obs", "10.0.0.200"))
    lab6.bridge_set(lab, "mcast_querier_interval", netlab._centi(BRIDGE_OTHER_QUERIER))
    lab6.bridge_querier(lab, BRIDGE_LL, mld_version=2, query_interval=1.0)
    first = capture.wait_query(6, src=BRIDGE_LL, timeout=3)
    assert (first.version, first.hop_limit, first.router_alert, first.checksum_ok) == (2, 1, True, True)

    # fe80::100 against the bridge's fe80::50: the daemon backs off, the bridge keeps querying.
    daemon_high = high.daemon(*ARGS)
    mld = lab6.wait_mld_state(daemon_high, lambda m: m["role"] == "non-querier" and m["querier"] == BRIDGE_LL,
                              5, "fe80::100 non-querier under the bridge")
    assert mld["address"] == HIGH
    time.sleep(0.5)  # a startup query of the daemon may still be on its way
    sources = _mld_sources(capture, 2.5)
    assert set(sources) == {BRIDGE_LL} and len(sources) >= 2, "MLD queries from %s" % sources
    mld = lab6.mld_state(daemon_high)
    assert mld["elections_lost"] >= 1 and mld["queries_heard"] >= 2
    assert mld["last_query_heard_from"] == BRIDGE_LL

    # fe80::5 joins: it wins, the bridge and fe80::100 fall silent.
    started = time.time()
    daemon_low = low.daemon(*ARGS)
    lab6.wait_mld_state(daemon_low, lambda m: m["role"] == "querier" and m["querier"] == LOW, 5, "fe80::5 querier")
    lab6.wait_mld_state(daemon_high, lambda m: m["querier"] == LOW, 3, "fe80::100 names fe80::5")
    netlab.wait_until(lambda: time.time() - started > 1.5, 2, "the bridge's last query in flight")
    sources = _mld_sources(capture, 2.5)
    assert set(sources) == {LOW} and len(sources) >= 2, "MLD queries from %s; only %s expected" % (sources, LOW)
    assert lab6.mld_state(daemon_low)["role"] == "querier"

    # fe80::5 dies: the bridge queries again; fe80::100 ends up under it, not above it.
    daemon_low.stop(signal.SIGKILL)
    killed = time.time()
    capture.wait_query(6, src=BRIDGE_LL, since=killed, timeout=BRIDGE_OTHER_QUERIER + 3)
    lab6.wait_mld_state(daemon_high, lambda m: m["role"] == "non-querier" and m["querier"] == BRIDGE_LL,
                        TIMEOUT + 5, "fe80::100 under the bridge again")
    time.sleep(0.5)
    sources = _mld_sources(capture, 2.5)
    assert set(sources) == {BRIDGE_LL}, "MLD queries from %s after fe80::5 died" % sources
    assert daemon_high.alive()

"""MLD querier election between three real daemons on one bridge (RFC 3810 s.7.6.2).

The link-local addresses fe80::9, fe80::10 and fe80::100 are chosen so that comparing them as
strings would elect fe80::10 ("fe80::10" < "fe80::100" < "fe80::9"); the numerically lowest,
fe80::9, must win. Their IPv4 addresses are in the opposite order, so the IGMP election on the
same interfaces has another winner: the two families elect independently. Who queries is read
from a capture on a fourth host, decoded by scapy; the roles from the state files' "mld" object.
"""

import signal
import time

import pytest

from tests.netns import lab as netlab
from tests.netns import lab6

pytestmark = pytest.mark.root

A, B, C = "fe80::9", "fe80::10", "fe80::100"
IPV4 = {A: "10.0.0.100", B: "10.0.0.10", C: "10.0.0.9"}  # IGMP elects C's host
TIMEOUT = 3.0
ARGS = ("--mld-version", "2") + netlab.FAST + ("-t", str(TIMEOUT))
#: How late a takeover may be after the timeout (scheduling, the capture, a loaded CI machine).
MARGIN = 0.5


def _wait_converged(daemons, querier, timeout=8.0):
    """Every daemon's "mld" object names ``querier``; only its own says role querier."""
    for address, daemon in daemons.items():
        role = "querier" if address == querier else "non-querier"
        lab6.wait_mld_state(daemon, lambda m, r=role: m["role"] == r and m["querier"] == querier, timeout,
                            "MLD role %s, querier %s" % (role, querier))


def _only_querier(capture, querier, seconds=2.5):
    """Over ``seconds``, the capture sees MLD queries from ``querier`` and nobody else."""
    since = time.time()
    time.sleep(seconds)
    sources = [q.src for q in capture.queries(family=6, since=since)]
    assert sources, "no MLD queries at all for %.1f s" % seconds
    assert set(sources) == {querier}, "MLD queries from %s; expected only %s" % (sorted(set(sources)), querier)
    assert len(sources) >= int(seconds) - 1


@pytest.mark.slow  # ~20 s: convergence, a timeout, the return
def test_lowest_link_local_queries_next_takes_over_after_timeout_and_it_wins_back(lab):
    assert min([A, B, C]) == B  # what a string comparison would elect
    hosts = {}
    for i, address in enumerate((A, B, C), 1):
        hosts[address] = lab.add_host("h%d" % i, IPV4[address])
        lab6.enable_ipv6(hosts[address], address)
    capture = lab6.QueryCapture(lab.add_host("obs", "10.0.0.200"))  # IPv6 off: hears, never queries

    daemons = {address: host.daemon(*ARGS) for address, host in hosts.items()}  # all three at once
    _wait_converged(daemons, A)
    _only_querier(capture, A)
    for address in (B, C):
        assert lab6.mld_state(daemons[address])["elections_lost"] >= 1
    # The IGMP side of the same daemons elected the lowest IPv4 address: C's host.
    for address, daemon in daemons.items():
        state = daemon.state()
        assert (state["role"], state["querier"]) == ("querier" if address == C else "non-querier", IPV4[C])

    # The MLD querier dies without a word: the next-lowest takes over after the timeout, not before.
    # (fe80::100 times out at the same moment and may send one query too, then loses to fe80::10.)
    daemons[A].stop(signal.SIGKILL)
    killed = time.time()
    last_a = max(q.time for q in capture.queries(family=6, src=A))
    first_b = capture.wait_query(6, src=B, since=killed, timeout=TIMEOUT + 3)
    delay = first_b.time - last_a
    early = [q for q in capture.queries(family=6, since=last_a + 0.001) if q.time < last_a + TIMEOUT - 0.05]
    assert early == [], "MLD queries before the timeout ran out: %s" % [(q.src, q.time - last_a) for q in early]
    assert TIMEOUT - 0.05 <= delay <= TIMEOUT + MARGIN, \
        "takeover %.3f s after the last query of %s; timeout %g s" % (delay, A, TIMEOUT)
    _wait_converged({B: daemons[B], C: daemons[C]}, B)
    _only_querier(capture, B)
    assert lab6.mld_state(daemons[B])["takeovers"] == 1

    # The lowest address comes back and wins again at once.
    back = time.time()
    daemons[A] = hosts[A].daemon(*ARGS)
    first_back = capture.wait_query(6, src=A, since=back, timeout=5)
    _wait_converged(daemons, A)
    _only_querier(capture, A)
    b_after = [q.time for q in capture.queries(family=6, src=B, since=first_back.time + 0.001)]
    assert not b_after or max(b_after) - first_back.time < 0.5, "%s kept querying after %s came back" % (B, A)
    for address in (B, C):
        assert daemons[address].alive(), "%s's daemon died:\n%s" % (address, daemons[address].log())
    # Through all of it the IGMP querier stayed C's host.
    assert {daemon.state()["querier"] for daemon in daemons.values()} == {IPV4[C]}

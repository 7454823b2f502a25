"""Querier election between three real daemons on one bridge (RFC 2236 s.3).

The addresses .9, .10 and .100 are chosen so that comparing them as strings would elect .10
("10.0.0.10" < "10.0.0.100" < "10.0.0.9"); the numerically lowest, .9, must win. Who queries is
read from a capture on a fourth host, not from the daemons' own account.
"""

import signal
import time

import pytest

from tests.netns import lab as netlab

pytestmark = pytest.mark.root

A, B, C = "10.0.0.9", "10.0.0.10", "10.0.0.100"
TIMEOUT = 3.0
ARGS = netlab.FAST + ("-t", str(TIMEOUT))
#: How late a takeover may be after the timeout (scheduling, the capture, a loaded CI machine).
MARGIN = 0.5


def _wait_converged(daemons, querier, timeout=8.0):
    """Every daemon's state names ``querier``; only its own says role querier."""
    for address, daemon in daemons.items():
        role = "querier" if address == querier else "non-querier"
        daemon.wait_state(lambda s, r=role: s["role"] == r and s["querier"] == querier, timeout,
                          "role %s, querier %s" % (role, querier))


def _only_querier(capture, querier, seconds=2.5):
    """Over ``seconds``, the capture sees queries from ``querier`` and nobody else."""
    since = time.time()
    time.sleep(seconds)
    sources = [f.src for f in capture.queries(since=since)]
    assert sources, "no queries at all for %.1f s" % seconds
    assert set(sources) == {querier}, "queries from %s; expected only %s" % (sorted(set(sources)), querier)
    assert len(sources) >= int(seconds) - 1


@pytest.mark.slow  # ~15-20 s: several membership intervals / timeouts
def test_lowest_address_queries_next_takes_over_after_timeout_and_it_wins_back(lab):
    assert min([A, B, C]) == B  # what a string comparison would elect
    hosts = {addr: lab.add_host("h%d" % i, addr) for i, addr in enumerate((A, B, C), 1)}
    observer = lab.add_host("obs", "10.0.0.200")
    capture = observer.capture()

    daemons = {addr: host.daemon(*ARGS) for addr, host in hosts.items()}  # all three at once
    _wait_converged(daemons, A)
    _only_querier(capture, A)
    assert "LOST to %s" % A in daemons[B].log()
    assert "LOST to " in daemons[C].log()  # to .10 or .9, whichever it heard first

    # The querier dies without a word: the next-lowest takes over after the timeout, not before.
    # (.100 times out at the same moment and may send one query too, then loses to .10.)
    daemons[A].stop(signal.SIGKILL)
    killed = time.time()
    last_a = max(f.time for f in capture.queries(src=A))
    first_b = capture.wait_query(src=B, since=killed, timeout=TIMEOUT + 3)
    delay = first_b.time - last_a
    early = [f for f in capture.queries(since=last_a + 0.001) if f.time < last_a + TIMEOUT - 0.05]
    assert early == [], "queries before the timeout ran out: %s" % early
    assert TIMEOUT - 0.05 <= delay <= TIMEOUT + MARGIN, \
        "takeover %.3f s after the last query of %s; timeout %g s" % (delay, A, TIMEOUT)
    _wait_converged({B: daemons[B], C: daemons[C]}, B)
    _only_querier(capture, B)
    assert "taking over as querier" in daemons[B].log()
    assert daemons[B].state()["takeovers"] == 1

    # The lowest address comes back and wins again at once.
    back = time.time()
    daemons[A] = hosts[A].daemon(*ARGS)
    first_back = capture.wait_query(src=A, since=back, timeout=5)
    _wait_converged(daemons, A)
    _only_querier(capture, A)
    b_after = [f.time for f in capture.queries(src=B, since=first_back.time + 0.001)]
    assert not b_after or max(b_after) - first_back.time < 0.5, "%s kept querying after %s came back" % (B, A)
    for address in (B, C):
        assert daemons[address].alive(), "%s's daemon died:\n%s" % (address, daemons[address].log())


@pytest.mark.slow  # ~12 s
def test_igmpv3_non_querier_adopts_the_queriers_interval_and_times_out_by_it(lab):
    """RFC 3376 s.4.1.6-4.1.7: B (own interval 1 s) adopts A's QQI 2 s and QRV 2 from the wire,
    so it waits 2 x 2 + 0.5 / 2 = 4.25 s, not its own 2.25 s, before taking over."""
    hosts = {addr: lab.add_host("h%d" % i, addr) for i, addr in enumerate((A, B, C), 1)}
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemons = {
        A: hosts[A].daemon("--igmp-version", "3", "-q", "2", "-r", "0.5"),
        B: hosts[B].daemon("--igmp-version", "3", "-q", "1", "-r", "0.5"),
    }
    _wait_converged(daemons, A)
    # An older querier joins the LAN: its IGMPv2 startup query reaches A, which says so.
    daemons[C] = hosts[C].daemon("--igmp-version", "2", "-q", "1", "-r", "0.5")
    daemons[A].wait_log("LAN mixes IGMP versions: %s sends IGMPv2 queries" % C, 3)
    _wait_converged(daemons, A)
    state = daemons[B].wait_state(lambda s: s["effective"]["query_interval"] == 2.0, 6, "B adopted QQI 2")
    assert state["effective"]["robustness"] == 2 and state["effective"]["timeout"] == 4.25
    assert state["timers"]["query_interval"] == 1.0 and state["timers"]["timeout"] == 2.25
    queries = capture.queries(src=A, general=True)
    assert queries and all(f.message.version == 3 and f.message.qqi == 2 and f.message.qrv == 2 for f in queries)

    time.sleep(2.5)  # A in its 2 s rhythm
    daemons[A].stop(signal.SIGKILL)
    killed = time.time()
    last_a = max(f.time for f in capture.queries(src=A))
    first_b = capture.wait_query(src=B, since=killed, timeout=8)
    delay = first_b.time - last_a
    assert 4.25 - 0.05 <= delay <= 4.25 + MARGIN, "B took over %.3f s after A's last query" % delay
    assert first_b.message.version == 3

"""SIGHUP, SIGUSR1 and SIGUSR2 never stop the querier (issue 8, finding 4).

SIGHUP re-checks the link, reopens both sockets (their inodes change) and rewrites the state file
at once, while the querying goes on on its schedule: no startup burst, no role change. SIGUSR1 logs
one status line. SIGUSR2 does nothing. Queries are read from a capture on another host.
"""

import os
import re
import signal
import time

import pytest

from tests.netns import lab as netlab

pytestmark = pytest.mark.root

ARGS = netlab.FAST + ("-t", "3")
STATUS = re.compile(r"Status on eth0: (\S+), querier (\S+), our address (\S+), link (\S+); queries sent (\d+), "
                    r"heard (\d+), ignored \d+; elections won \d+, lost (\d+); takeovers (\d+); role changes (\d+); "
                    r"groups \d+ \(overflow \d+\); malformed packets dropped \d+; send errors (\d+); "
                    r"log lines suppressed \d+; uptime \d+h\d\dm\d\ds")


def gaps(frames):
    times = [f.time for f in frames]
    return [round(b - a, 3) for a, b in zip(times, times[1:])]


def between_queries(capture, src):
    """Return right after a query from ``src`` left plus 0.3 s: the next is ~0.7 s away."""
    since = time.time()
    capture.wait_query(src=src, since=since, timeout=3)
    time.sleep(0.3)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2], ids=["HUP", "USR1", "USR2"])
def test_signal_leaves_the_querier_running_on_schedule(lab, signum):
    host = lab.add_host("q", "10.0.0.1")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemon = host.daemon(*ARGS)
    daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 3, 6, "querier past startup")
    sockets_before = daemon.socket_inodes()
    between_queries(capture, "10.0.0.1")
    before = daemon.state()
    mtime = os.stat(daemon.state_path).st_mtime
    signalled = time.time()
    daemon.send_signal(signum)

    if signum == signal.SIGHUP:
        daemon.wait_log("SIGHUP: re-checking eth0, reopening its sockets and rewriting", 2)
        # Rewritten at once, between two queries: no query went out with the rewrite.
        state = daemon.wait_state(lambda s: s["updated"] > signalled, 0.5, "state rewritten on SIGHUP")
        assert state["updated"] - signalled < 0.3
        assert state["queries_sent"] == before["queries_sent"] and state["last_query_sent"] < signalled
        assert os.stat(daemon.state_path).st_mtime > mtime
        assert len(sockets_before - daemon.socket_inodes()) == 2, "rx and tx not reopened"
    elif signum == signal.SIGUSR1:
        log = daemon.wait_log("Status on eth0:", 2)
        match = STATUS.search(log)
        assert match, log
        role, querier, address, link, sent, _heard, lost, takeovers, changes, errors = match.groups()
        assert (role, querier, address, link) == ("querier", "10.0.0.1", "10.0.0.1", "up")
        assert int(sent) >= before["queries_sent"] and (lost, takeovers, changes, errors) == ("0", "0", "0", "0")
        assert daemon.socket_inodes() == sockets_before
    else:
        time.sleep(0.5)
        assert daemon.socket_inodes() == sockets_before

    time.sleep(3.3)
    assert daemon.alive(), daemon.log()
    sent = capture.queries(src="10.0.0.1", since=signalled - 1.1)
    assert len(sent) >= 4, gaps(sent)
    assert all(0.85 <= g <= 1.15 for g in gaps(sent)), "schedule broken around the signal: %s" % gaps(sent)
    after = daemon.state()
    assert after["updated"] > before["updated"] and after["pid"] == daemon.pid
    assert after["role"] == "querier" and after["role_changes"] == before["role_changes"] == 0
    assert after["queries_sent"] >= before["queries_sent"] + 3
    assert "Traceback" not in daemon.log() and "Stopping on" not in daemon.log()


def test_sighup_on_a_non_querier_keeps_it_quiet_and_the_election_as_it_was(lab):
    a = lab.add_host("a", "10.0.0.1")
    b = lab.add_host("b", "10.0.0.2")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    da, db = a.daemon(*ARGS), b.daemon(*ARGS)
    db.wait_state(lambda s: s["role"] == "non-querier" and s["querier"] == "10.0.0.1", 6, "b non-querier")
    time.sleep(1.5)
    heard = db.state()["queries_heard"]

    signalled = time.time()
    db.send_signal(signal.SIGHUP)
    da.send_signal(signal.SIGHUP)
    db.wait_log("SIGHUP: re-checking eth0", 2)
    da.wait_log("SIGHUP: re-checking eth0", 2)
    time.sleep(3.5)  # longer than the takeover timeout: b must still hear a through its new socket
    assert capture.queries(src="10.0.0.2", since=signalled) == []
    sent = capture.queries(src="10.0.0.1", since=signalled)
    assert len(sent) >= 3 and all(0.85 <= g <= 1.15 for g in gaps(sent)), gaps(sent)
    state_b = db.state()
    assert state_b["role"] == "non-querier" and state_b["querier"] == "10.0.0.1"
    assert state_b["queries_heard"] >= heard + 3 and state_b["role_changes"] == 1  # the one loss at start
    assert da.state()["role_changes"] == 0 and da.alive() and db.alive()

"""One daemon per interface and state dir (issue 8, finding 9): a second one exits non-zero within
3 s with one line naming the interface and the running daemon's PID, and the first goes on as if
nothing happened: still running, its state file intact, querying once a second."""

import os
import signal
import time

import pytest

from tests.netns import lab as netlab

pytestmark = pytest.mark.root

ARGS = netlab.FAST + ("-t", "3")


def test_second_daemon_on_the_same_interface_and_state_dir_exits_naming_the_first(lab):
    host = lab.add_host("q", "10.0.0.1")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    first = host.daemon(*ARGS)
    first.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 3, 6, "first querying")
    with open(first.state_path) as handle:
        state_before = handle.read()

    started = time.monotonic()
    second = host.daemon(*ARGS, state_dir=first.state_dir)
    code = second.proc.wait(5)
    took = time.monotonic() - started
    assert code != 0 and took < 3.0, "exit %s after %.2f s" % (code, took)
    lines = second.log().strip().splitlines()
    assert len(lines) == 1, lines
    assert "eth0" in lines[0] and "PID %d" % first.pid in lines[0], lines[0]

    since = time.time()
    time.sleep(3.2)
    sent = capture.queries(since=since)
    assert {f.src for f in sent} == {"10.0.0.1"}
    assert 3 <= len(sent) <= 4, "first daemon's queries: %d in 3.2 s" % len(sent)
    assert first.alive()
    state = first.state()  # intact: the second neither removed nor rewrote it
    assert state["pid"] == first.pid and state["updated"] > since
    assert state["queries_sent"] > netlab.json.loads(state_before)["queries_sent"]
    assert "Stopping" not in second.log()


def test_the_lock_dies_with_the_daemon_so_a_successor_starts(lab):
    host = lab.add_host("q", "10.0.0.1")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    first = host.daemon(*ARGS)
    first.wait_state(lambda s: s["role"] == "querier", 5, "first querying")
    first.proc.send_signal(signal.SIGKILL)  # no clean shutdown: the kernel drops the lock
    first.proc.wait(5)

    restarted = time.time()
    successor = host.daemon(*ARGS, state_dir=first.state_dir)
    capture.wait_query(src="10.0.0.1", since=restarted, timeout=3)
    successor.wait_state(lambda s: s["pid"] == successor.pid and s["role"] == "querier", 3, "successor's state")
    assert successor.alive()
    assert os.path.exists(os.path.join(first.state_dir, "eth0.lock"))

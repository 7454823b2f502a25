"""The daemon survives what happens to its interface without restarting, and stops cleanly.

Each test checks the pid stays the same (the process never restarted) and reads who queries from
a capture on another host.
"""

import re
import signal
import time

import pytest

from tests.netns import lab as netlab

pytestmark = pytest.mark.root

TIMEOUT = 3.0
ARGS = netlab.FAST + ("-t", str(TIMEOUT))
COUNTERS = re.compile(
    r"Stopping on eth0: queries sent (\d+), heard (\d+); elections won (\d+), lost (\d+); takeovers (\d+); "
    r"malformed packets dropped (\d+); uptime \d+h\d\dm\d\ds")


def _querying(capture, src, seconds=2.2):
    since = time.time()
    time.sleep(seconds)
    return capture.queries(src=src, since=since)


def test_link_down_and_up(lab):
    host = lab.add_host("q", "10.0.0.1")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemon = host.daemon(*ARGS)
    pid = daemon.pid
    capture.wait_query(src="10.0.0.1", timeout=5)

    host.link_down()
    daemon.wait_log("Link eth0 is down", 3)
    daemon.wait_state(lambda s: s["link"] == "down", 3, "link down in the state file")
    time.sleep(0.3)
    assert _querying(capture, "10.0.0.1", 1.5) == []

    up = time.time()
    host.link_up()
    first = capture.wait_query(src="10.0.0.1", since=up, timeout=3)
    assert first.time - up < 1.0, "first query %.2f s after the link came up" % (first.time - up)
    daemon.wait_log("Link eth0 is up again (10.0.0.1)", 3)
    assert len(_querying(capture, "10.0.0.1")) >= 2
    state = daemon.wait_state(lambda s: s["link"] == "up" and s["role"] == "querier", 3, "link up, querier")
    assert daemon.alive() and daemon.pid == pid == state["pid"]


def test_interface_deleted_and_recreated(lab):
    host = lab.add_host("q", "10.0.0.1")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemon = host.daemon(*ARGS)
    capture.wait_query(src="10.0.0.1", timeout=5)

    host.delete_link()
    daemon.wait_log("Interface eth0 is gone", 3)
    daemon.wait_state(lambda s: s["link"] == "absent", 3, "link absent in the state file")
    time.sleep(1.2)
    assert daemon.alive()

    back = time.time()
    host.create_link()  # a new veth: new ifindex, new bridge port, same name and address
    first = capture.wait_query(src="10.0.0.1", since=back, timeout=3)
    assert first.time - back < 1.0
    assert len(_querying(capture, "10.0.0.1")) >= 2
    daemon.wait_state(lambda s: s["link"] == "up" and s["role"] == "querier" and s["address"] == "10.0.0.1",
                      3, "back up as querier")
    assert daemon.alive()


def test_no_address_at_start_then_one_assigned_starts_with_the_burst(lab):
    host = lab.add_host("q", "10.0.0.1")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    host.ip("addr", "flush", "dev", "eth0")  # e.g. the daemon starts before DHCP answered
    daemon = host.daemon("-q", "2", "-r", "0.5")  # startup: 2 queries 0.5 s apart, then every 2 s
    daemon.wait_log("No IPv4 address on eth0", 3)
    daemon.wait_state(lambda s: s["address"] is None and s["link"] == "up", 3, "up without an address")
    time.sleep(1.0)
    assert capture.queries() == []

    assigned = time.time()
    host.ip("addr", "add", "10.0.0.1/24", "dev", "eth0")
    capture.wait_query(src="10.0.0.1", since=assigned, timeout=2)
    time.sleep(3.0)
    sent = [f.time - assigned for f in capture.queries(src="10.0.0.1")]
    assert len(sent) >= 3, sent
    assert sent[0] < 0.5, sent
    assert abs(sent[1] - sent[0] - 0.5) < 0.15, "no startup burst: %s" % sent
    assert abs(sent[2] - sent[1] - 2.0) < 0.15, sent
    daemon.wait_state(lambda s: s["address"] == "10.0.0.1" and s["role"] == "querier", 2, "querier at .1")
    assert daemon.alive()


def test_address_change_new_source_and_election_against_it(lab):
    a = lab.add_host("a", "10.0.0.20")
    b = lab.add_host("b", "10.0.0.30")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    da, db = a.daemon(*ARGS), b.daemon(*ARGS)
    pid = da.pid
    da.wait_state(lambda s: s["role"] == "querier", 5, "a querier")
    db.wait_state(lambda s: s["role"] == "non-querier" and s["querier"] == "10.0.0.20", 5, "b non-querier")

    # .20 -> .40: a keeps querying, from its new address, at once.
    changed = time.time()
    a.set_address("10.0.0.40")
    first = capture.wait_query(src="10.0.0.40", since=changed, timeout=3)
    assert first.time - changed < 1.0
    da.wait_log("Address of eth0 changed", 2)
    # b no longer hears .20: it takes over when .20's timeout runs out; a, now higher, backs off.
    last_20 = max(f.time for f in capture.queries(src="10.0.0.20"))
    takeover = capture.wait_query(src="10.0.0.30", since=changed, timeout=TIMEOUT + 3)
    assert takeover.time - last_20 >= TIMEOUT - 0.05
    da.wait_state(lambda s: s["role"] == "non-querier" and s["querier"] == "10.0.0.30" and s["address"] == "10.0.0.40",
                  3, "a lost to .30 with its new address")
    assert "LOST to 10.0.0.30" in da.log()
    since = time.time()
    time.sleep(2.2)
    assert {f.src for f in capture.queries(since=since)} == {"10.0.0.30"}

    # .40 -> .5: now a is the lowest; it takes over at once and b backs off.
    changed = time.time()
    a.set_address("10.0.0.5")
    first = capture.wait_query(src="10.0.0.5", since=changed, timeout=3)
    assert first.time - changed < 1.0
    db.wait_state(lambda s: s["role"] == "non-querier" and s["querier"] == "10.0.0.5", 3, "b lost to .5")
    da.wait_state(lambda s: s["role"] == "querier" and s["address"] == "10.0.0.5", 3, "a querier again")
    since = time.time()
    time.sleep(2.2)
    assert {f.src for f in capture.queries(since=since)} == {"10.0.0.5"}
    assert da.alive() and da.pid == pid


def test_send_errors_reopen_the_sockets_and_queries_resume(lab):
    host = lab.add_host("q", "10.0.0.1")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemon = host.daemon(*ARGS)
    pid = daemon.pid
    capture.wait_query(src="10.0.0.1", timeout=5)
    # A firewall that drops our IGMP makes sendto() fail with EPERM.
    blocked = host.exec("iptables", "-A", "OUTPUT", "-p", "igmp", "-j", "DROP", check=False)
    if blocked.returncode != 0:
        pytest.skip("iptables does not work in a network namespace here: %s" % blocked.stderr.strip())
    daemon.wait_log("Send socket on eth0 failed", 3)
    time.sleep(2.0)
    assert daemon.alive()

    unblocked = time.time()
    host.exec("iptables", "-D", "OUTPUT", "-p", "igmp", "-j", "DROP")
    first = capture.wait_query(src="10.0.0.1", since=unblocked, timeout=3)
    assert first.time - unblocked < 1.5
    assert len(_querying(capture, "10.0.0.1")) >= 2
    assert daemon.alive() and daemon.pid == pid


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_0_within_a_second_with_counters(lab, signum):
    a = lab.add_host("a", "10.0.0.1")
    b = lab.add_host("b", "10.0.0.2")
    da, db = a.daemon(*ARGS), b.daemon(*ARGS)
    db.wait_state(lambda s: s["role"] == "non-querier" and s["queries_heard"] >= 3, 6, "b heard a few queries")
    counted = db.state()
    state_path = db.state_path

    started = time.monotonic()
    db.send_signal(signum)
    code = db.proc.wait(5)
    took = time.monotonic() - started
    assert code == 0, db.log()
    assert took < 1.0, "exit took %.2f s" % took
    match = COUNTERS.search(db.log())
    assert match, "no counters line in:\n%s" % db.log()
    sent, heard, won, lost, takeovers, malformed = map(int, match.groups())
    assert heard >= counted["queries_heard"] >= 3
    assert lost == counted["elections_lost"] >= 1
    assert (sent, takeovers, malformed) == (counted["queries_sent"], 0, 0)
    assert not netlab.os.path.exists(state_path), "state file left behind by a clean exit"
    assert da.alive()

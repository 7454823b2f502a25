"""Send congestion is not a dead socket (issue 8, finding 6).

The querier's host gets a slow egress qdisc (tbf, 8 kbit/s, a 1540-byte queue) and a burst of
other traffic that keeps that queue full, so the kernel drops our queries at the qdisc and
sendto() fails with ENOBUFS (the sender sets IP_RECVERR; without it a raw socket reports success
for a dropped frame). The daemon must drop those queries, count them as send_errors, keep its
sockets (same inodes, no "reopening" line), count as sent only the queries that reached the wire,
and go on querying once the burst is over.
"""

import errno
import socket
import threading
import time

import pytest

from tests.netns import lab as netlab

pytestmark = pytest.mark.root

ARGS = netlab.FAST + ("-t", "3")
#: Frames of the burst: 14 (Ethernet) + 20 (IP) + 8 (UDP) + 8 = 50 bytes. Thirty fill the 1540-byte
#: queue to 1500, leaving less room than one 46-byte IGMPv2 query needs.
BURST_PAYLOAD = b"x" * 8


class Burst:
    """UDP datagrams out of ``host``'s eth0 every 2 ms (500/s), in a thread, until stopped."""

    def __init__(self, host):
        with netlab.netns(host.ns):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(host.address))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self.sock.setblocking(False)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.002):
            for _round in range(2):
                try:
                    self.sock.sendto(BURST_PAYLOAD, ("239.9.9.9", 9))
                    self.sent += 1
                except OSError as exc:
                    if exc.errno not in (errno.ENOBUFS, errno.EAGAIN):
                        raise

    def stop(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_enobufs_drops_the_query_keeps_the_sockets_and_queries_resume(lab):
    host = lab.add_host("q", "10.0.0.1")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemon = host.daemon(*ARGS)
    daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 3, 6, "querying")
    sockets_before = daemon.socket_inodes()
    host.exec("tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "8kbit", "burst", "1540", "limit", "1540")

    burst = Burst(host)
    try:
        congested = daemon.wait_state(lambda s: s["send_errors"] >= 3, 8, "three queries dropped by the qdisc")
    finally:
        burst.stop()
    assert burst.sent > 1000
    log = daemon.log()
    assert "general query to 224.0.0.1 not sent on eth0 (No buffer space available): dropped, socket kept" in log
    assert "reopening" not in log and "failed" not in log, log
    assert daemon.socket_inodes() == sockets_before
    assert daemon.alive()

    over = time.time() + 2.0  # the queue drains 1540 bytes at 1000 bytes/s
    time.sleep(2.0 + 3.2)
    resumed = capture.queries(src="10.0.0.1", since=over, general=True)
    assert len(resumed) >= 3, "queries after the burst: %d" % len(resumed)
    time.sleep(0.2)  # the state file follows each query at once; let the capture catch up
    state = daemon.state()
    assert state["send_errors"] >= congested["send_errors"] and state["queries_sent"] > congested["queries_sent"]
    # Every query counted as sent crossed the bridge, and none that the qdisc dropped was counted.
    on_wire = capture.queries(src="10.0.0.1")
    assert abs(len(on_wire) - state["queries_sent"]) <= 1, (len(on_wire), state["queries_sent"])
    assert daemon.socket_inodes() == sockets_before and daemon.alive()

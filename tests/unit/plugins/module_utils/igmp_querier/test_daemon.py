"""The daemon's real event loop (Daemon.run) on a fake clock, fake interface facts and fake sockets.

What is faked is only what the daemon reaches through its seams (``clock``, ``netif``,
``sockets``, ``selector``): the querier, the codec, the state file (written for real under
tmp_path) and the signal handling (a real SIGTERM through the wake-up fd) are the real code.
The fake selector advances the fake clock to the timeout it is given, or to the next scripted
event, so every select() return is one wake-up of the daemon.
"""

import errno
import json
import logging
import os
import select
import signal
from collections import deque, namedtuple

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, codec_mld, daemon as daemon_module
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import side as side_module
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Config, Timers
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.netif import LinkState

IF = "eth0"
ME, OTHER, LOWER = "10.0.0.5", "10.0.0.7", "10.0.0.2"
UP = LinkState(True, True, 3, ME)
DOWN = LinkState(True, False, 3, ME)
ABSENT = LinkState(False, False, 0, None)
# Query interval 10 s, robustness 2: startup burst of 2 queries 2.5 s apart, then one every 10 s.
TIMERS = Timers(query_interval=10.0, max_response_time=1.0, robustness=2)

Key = namedtuple("Key", "fileobj data")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeNetif:
    def __init__(self, state=UP):
        self.state = state
        self.reads = 0

    def link_state(self, name, ipv6=False):
        self.reads += 1
        self.ipv6 = ipv6
        return self.state

    def index(self, name):
        return self.state.index

    def ipv4_address(self, name):
        return self.state.address

    def missing_interface_message(self, name):
        return "interface %r does not exist" % name


class FakeSocket:
    def __init__(self, kind, address=None):
        self.kind, self.address = kind, address
        self.inbox = deque()  # frames (bytes, outgoing) or OSErrors, delivered by receive()
        self.sent = []  # (time, destination, decoded query)
        self.send_error = None  # an errno: the next sendto() fails with it
        self.closed_at = None
        self.clock = None

    def sendto(self, payload, address):
        assert self.closed_at is None
        if self.send_error is not None:
            error, self.send_error = self.send_error, None
            raise OSError(error, os.strerror(error))
        if self.kind == "tx6":  # a raw ICMPv6 socket: the kernel adds the IPv6 header and checksum
            assert address[3] > 0, "an IPv6 multicast destination needs the interface index"
            packet = codec_mld.decode_ipv6(codec_mld.encode_ipv6(self.address, address[0], payload))
            self.sent.append((self.clock(), address[0], packet.message))
        else:
            self.sent.append((self.clock(), address[0], codec.decode_igmp(payload)))

    def close(self):
        self.closed_at = self.clock()


class FakeSockets:
    def __init__(self, clock, netlink=False):
        self.clock = clock
        self.netlink_ok = netlink
        self.netlink = None
        self.open_errors = deque()  # errnos: the next open_receiver() calls fail with them
        self.receivers, self.senders = [], []
        self.receivers6, self.senders6 = [], []
        self.open6_errors = deque()  # errnos: the next open_sender6() calls fail with them
        self.opened_at = []  # (time, kind)

    def check_raw(self):
        pass

    def open_receiver(self, interface, index):
        self.opened_at.append((self.clock(), "rx"))
        if self.open_errors:
            error = self.open_errors.popleft()
            raise OSError(error, os.strerror(error))
        sock = FakeSocket("rx")
        sock.clock = self.clock
        self.receivers.append(sock)
        return sock

    def open_sender(self, interface, index, address):
        self.opened_at.append((self.clock(), "tx"))
        sock = FakeSocket("tx", address)
        sock.clock = self.clock
        self.senders.append(sock)
        return sock

    def check_raw6(self):
        pass

    def open_receiver6(self, interface, index):
        self.opened_at.append((self.clock(), "rx6"))
        sock = FakeSocket("rx6")
        sock.clock = self.clock
        self.receivers6.append(sock)
        return sock

    def open_sender6(self, interface, index, address):
        self.opened_at.append((self.clock(), "tx6"))
        if self.open6_errors:
            error = self.open6_errors.popleft()
            raise OSError(error, os.strerror(error))
        sock = FakeSocket("tx6", address)
        sock.clock = self.clock
        self.senders6.append(sock)
        return sock

    def open_netlink(self):
        if not self.netlink_ok:
            raise OSError(errno.EPERM, "no netlink here")
        self.netlink = FakeSocket("netlink")
        self.netlink.clock = self.clock
        return self.netlink

    def receive(self, sock):
        if not sock.inbox:
            return None
        item = sock.inbox.popleft()
        if isinstance(item, OSError):
            raise item
        return item

    def drain_netlink(self, sock):
        indexes = set(sock.inbox)
        sock.inbox.clear()
        return indexes

    # what tests look at
    @property
    def rx(self):
        return self.receivers[-1]

    @property
    def tx(self):
        return self.senders[-1]

    def queries(self):
        return [q for sock in self.senders for q in sock.sent]

    def queries6(self):
        """(time, destination, source, decoded query) of every MLD query sent."""
        return [(t, d, sock.address, q) for sock in self.senders6 for t, d, q in sock.sent]


class FakeSelector:
    """select() returns what is ready now; else it moves the clock to the next scripted event
    (and runs it) or by the whole timeout. Each return is one wake-up."""

    def __init__(self, clock, until):
        self.clock = clock
        self.until = until
        self.keys = {}
        self.script = []  # (time, action), sorted
        self.wakeups = 0
        self.timeouts = 0

    def at(self, when, action):
        self.script.append((when, action))
        self.script.sort(key=lambda item: item[0])

    def register(self, fileobj, events, data=None):
        self.keys[id(fileobj)] = Key(fileobj, data)

    def unregister(self, fileobj):
        del self.keys[id(fileobj)]

    def _ready(self):
        ready = []
        for key in self.keys.values():
            sock = key.fileobj
            if isinstance(sock, FakeSocket):
                if sock.inbox:
                    ready.append((key, 1))
            elif select.select([sock], [], [], 0)[0]:  # the real wake-up socketpair
                ready.append((key, 1))
        return ready

    def select(self, timeout=None):
        assert timeout is not None and timeout >= 0, "the idle loop must never block without a deadline"
        self.wakeups += 1
        ready = self._ready()
        if ready:
            return ready
        deadline = self.clock.now + timeout
        if self.script and self.script[0][0] <= deadline:
            when, action = self.script.pop(0)
            self.clock.now = max(self.clock.now, when)
            action()
            return self._ready()
        if deadline > self.until:
            raise AssertionError("the loop ran past the end of the test at %s" % self.until)
        self.clock.now = deadline
        self.timeouts += 1
        return []


class Rig:
    def __init__(self, tmp_path, timers=TIMERS, state=UP, netlink=False, until=2000.0):
        self.clock = Clock()
        self.netif = FakeNetif(state)
        self.sockets = FakeSockets(self.clock, netlink)
        self.selector = FakeSelector(self.clock, until)
        config = Config(IF, timers, state_dir=str(tmp_path))
        self.daemon = daemon_module.Daemon(config, clock=self.clock, wall=lambda: self.clock.now + 1e9,
                                           netif=self.netif, sockets=self.sockets, selector=self.selector)
        self.writes = []
        real_write = self.daemon.write_state

        def counted(now):
            self.writes.append(now)
            real_write(now)

        self.daemon.write_state = counted

    def at(self, when, action):
        self.selector.at(when, action)

    def stop_at(self, when):
        self.selector.at(when, lambda: setattr(self.daemon, "stopping", True))

    def run(self):
        return self.daemon.run()

    def state(self):
        with open(self.daemon.state_path) as handle:
            return json.load(handle)

    def send_times(self):
        return [t for t, _dst, _q in self.sockets.queries()]


@pytest.fixture(autouse=True)
def restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                                              signal.SIGUSR1, signal.SIGUSR2)}
    yield
    signal.set_wakeup_fd(-1)
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def query_from(source, version=2):
    payload = codec.encode_query_v2(100) if version == 2 else codec.encode_query_v3(100, 2, 10)
    return codec.encode_ipv4(source, codec.ALL_HOSTS, payload), False


# --- the idle querier ------------------------------------------------------------------------

def test_idle_querier_startup_burst_then_one_query_per_interval_and_one_wakeup_per_query(tmp_path):
    rig = Rig(tmp_path)
    rig.stop_at(1100.0)
    assert rig.run() == daemon_module.EXIT_OK
    sent = rig.sockets.queries()
    assert [t for t, _d, _q in sent] == [1000.0, 1002.5] + [1012.5 + 10.0 * i for i in range(9)]
    assert all(dst == codec.ALL_HOSTS and q == codec.Query(2, 10, codec.ANY) for _t, dst, q in sent)
    # after the burst, each query interval is one wake-up: the state file, the link re-check and
    # the query share it. (+1: the wake-up that ran the stop.)
    steady = [t for t in rig.writes if t >= 1012.5]
    assert steady == [1012.5 + 10.0 * i for i in range(9)]
    assert rig.selector.wakeups <= len(sent) + 1


def test_v3_query_carries_the_configured_qrv_and_qqic(tmp_path):
    rig = Rig(tmp_path, timers=TIMERS._replace(igmp_version=3, robustness=3))
    rig.stop_at(1001.0)
    rig.run()
    _t, dst, query = rig.sockets.queries()[0]
    assert dst == codec.ALL_HOSTS
    assert (query.version, query.qrv, query.qqi, query.max_resp_tenths) == (3, 3, 10, 10)


def test_a_lower_querier_silences_us_and_the_state_file_says_so_at_once(tmp_path):
    rig = Rig(tmp_path)
    rig.at(1005.0, lambda: rig.sockets.rx.inbox.append(query_from(LOWER)))
    rig.stop_at(1020.0)
    rig.run()
    assert rig.send_times() == [1000.0, 1002.5]
    assert 1005.0 in rig.writes  # the role change is written at once, not at the next refresh
    assert rig.daemon.querier.role == "non-querier"


# --- sockets: errors, backoff, congestion ------------------------------------------------------

def test_open_failures_back_off_0_5_1_2_seconds_then_the_querier_starts(tmp_path):
    rig = Rig(tmp_path)
    rig.sockets.open_errors.extend([errno.ENOBUFS, errno.ENOBUFS, errno.ENOBUFS])
    rig.stop_at(1010.0)
    rig.run()
    rx_opens = [t for t, kind in rig.sockets.opened_at if kind == "rx"]
    assert rx_opens == [1000.0, 1000.5, 1001.5, 1003.5]
    assert rig.send_times()[:2] == [1003.5, 1006.0]  # the startup burst starts once it is open
    assert 1003.5 in rig.writes  # and the state file shows it at once
    assert rig.daemon.backoff == side_module.BACKOFF_MIN


def test_a_receive_error_closes_both_sockets_and_the_link_check_reopens_them_at_once(tmp_path):
    rig = Rig(tmp_path)
    rig.at(1004.0, lambda: rig.sockets.rx.inbox.append(OSError(errno.ENETDOWN, "Network is down")))
    rig.stop_at(1030.0)
    rig.run()
    first_rx, first_tx = rig.sockets.receivers[0], rig.sockets.senders[0]
    assert first_rx.closed_at == first_tx.closed_at == 1004.0
    assert [t for t, kind in rig.sockets.opened_at] == [1000.0, 1000.0, 1004.0, 1004.0]
    assert rig.sockets.rx.closed_at == 1030.0  # the new pair lives until the stop
    assert [t for t, _d, _q in rig.sockets.tx.sent] == [1012.5, 1022.5]  # the schedule carries on


@pytest.mark.parametrize("error", [errno.ENOBUFS, errno.EAGAIN, errno.ENOMEM])
def test_send_congestion_drops_that_query_keeps_the_sockets_and_counts_it(tmp_path, error):
    rig = Rig(tmp_path)
    rig.at(1002.0, lambda: setattr(rig.sockets.tx, "send_error", error))
    rig.at(1019.0, lambda: setattr(rig, "document", rig.state()))
    rig.stop_at(1020.0)
    rig.run()
    assert len(rig.sockets.senders) == 1 and rig.sockets.tx.closed_at == 1020.0  # closed only by the stop
    assert rig.send_times() == [1000.0, 1012.5]  # 1002.5 was dropped, the next one left
    assert rig.daemon.querier.queries_sent == 2 and rig.daemon.send_errors == 1
    assert rig.document["send_errors"] == 1 and rig.document["queries_sent"] == 2


def test_a_hard_send_error_closes_both_sockets_and_reopens_them(tmp_path):
    rig = Rig(tmp_path)
    rig.at(1002.0, lambda: setattr(rig.sockets.tx, "send_error", errno.ENXIO))
    rig.stop_at(1020.0)
    rig.run()
    assert rig.sockets.senders[0].closed_at == rig.sockets.receivers[0].closed_at == 1002.5
    assert [t for t, kind in rig.sockets.opened_at if kind == "tx"] == [1000.0, 1003.0]
    assert rig.send_times() == [1000.0, 1012.5]


# --- the state file ----------------------------------------------------------------------------

def test_state_file_cadence_start_each_query_and_no_more_than_that_when_idle(tmp_path):
    rig = Rig(tmp_path)
    rig.stop_at(1060.0)
    rig.run()
    # start; 1002.5 (a query left); then with every query
    assert rig.writes == [1000.0, 1002.5, 1012.5, 1022.5, 1032.5, 1042.5, 1052.5]
    assert not os.path.exists(rig.daemon.state_path)  # a stopped daemon exports nothing


def report(group):
    return codec.encode_ipv4("10.0.0.9", group, codec.encode_report_v2(group)), False


def test_group_changes_are_written_at_most_once_per_state_min_gap(tmp_path):
    rig = Rig(tmp_path)
    groups = {}
    rig.at(1004.0, lambda: rig.sockets.rx.inbox.append(report("239.1.2.3")))
    rig.at(1004.3, lambda: rig.sockets.rx.inbox.append(report("239.1.2.4")))
    for when in (1004.1, 1004.9, 1005.1):
        rig.at(when, lambda when=when: groups.update({when: [g["group"] for g in rig.state()["groups"]]}))
    rig.stop_at(1006.0)
    rig.run()
    assert groups[1004.1] == ["239.1.2.3"]  # at once: the last write (1002.5) is over 1 s old
    assert groups[1004.9] == ["239.1.2.3"]  # the second join waits for STATE_MIN_GAP ...
    assert groups[1005.1] == ["239.1.2.3", "239.1.2.4"]  # ... and is written at 1004.0 + 1.0
    assert [t for t in rig.writes if 1003.0 < t < 1006.0] == [1004.0, 1005.0]


# --- link and address ----------------------------------------------------------------------------

def test_link_down_closes_the_sockets_and_up_restarts_with_a_startup_burst(tmp_path):
    rig = Rig(tmp_path, netlink=True)

    def down():
        rig.netif.state = DOWN
        rig.sockets.netlink.inbox.append(3)

    def up():
        rig.netif.state = UP
        rig.sockets.netlink.inbox.append(3)

    links = {}
    rig.at(1005.0, down)
    rig.at(1005.1, lambda: links.update(down=rig.state()["link"]))
    rig.at(1030.0, up)
    rig.at(1030.1, lambda: links.update(up=rig.state()["link"]))
    rig.stop_at(1035.0)
    rig.run()
    assert rig.sockets.receivers[0].closed_at == rig.sockets.senders[0].closed_at == 1005.0
    assert links == {"down": "down", "up": "up"}
    assert rig.send_times() == [1000.0, 1002.5, 1030.0, 1032.5]  # nothing while down; burst again


def test_interface_gone_and_back_without_netlink_is_found_at_the_next_recheck(tmp_path):
    rig = Rig(tmp_path)
    rig.at(1003.0, lambda: setattr(rig.netif, "state", ABSENT))
    rig.at(1021.0, lambda: setattr(rig.netif, "state", UP))
    rig.stop_at(1040.0)
    rig.run()
    # re-checked with every query: found gone at 1012.5 (that query does not leave), back at
    # 1022.5 with a new startup burst
    assert rig.send_times()[:4] == [1000.0, 1002.5, 1022.5, 1025.0]
    assert rig.sockets.receivers[0].closed_at == 1012.5 and len(rig.sockets.receivers) == 2


def test_address_change_reopens_the_sender_on_the_new_source_and_announces_it(tmp_path):
    rig = Rig(tmp_path, netlink=True)

    def renumber():
        rig.netif.state = UP._replace(address=OTHER)
        rig.sockets.netlink.inbox.append(3)

    rig.at(1007.0, renumber)
    rig.stop_at(1010.0)
    rig.run()
    assert [s.address for s in rig.sockets.senders] == [ME, OTHER] and rig.sockets.senders[0].closed_at == 1007.0
    assert len(rig.sockets.receivers) == 1  # same interface: the receiver stays
    assert rig.sockets.tx.sent[0][0] == 1007.0  # the "address" query, from the new source
    assert rig.daemon.link.address == OTHER and rig.writes[-1] >= 1007.0


def test_first_address_after_start_runs_the_startup_burst(tmp_path, caplog):
    rig = Rig(tmp_path, state=UP._replace(address=None), netlink=True)

    def dhcp():
        rig.netif.state = UP
        rig.sockets.netlink.inbox.append(3)

    rig.at(1004.0, dhcp)
    rig.stop_at(1010.0)
    with caplog.at_level(logging.INFO, logger="igmp_querier"):
        rig.run()
    assert rig.send_times() == [1004.0, 1006.5]
    assert "No IPv4 address on eth0; cannot query until one is assigned" in caplog.text
    assert "Address of eth0 is now 10.0.0.5: starting up" in caplog.text


# --- signals ---------------------------------------------------------------------------------

def test_sigterm_ends_the_loop_through_the_wakeup_fd_and_removes_the_state_file(tmp_path):
    rig = Rig(tmp_path)
    rig.at(1013.0, lambda: os.kill(os.getpid(), signal.SIGTERM))
    assert rig.run() == daemon_module.EXIT_OK
    assert rig.clock.now == 1013.0  # at once, not at the next deadline
    assert rig.sockets.rx.closed_at == rig.sockets.tx.closed_at == 1013.0
    assert not os.path.exists(rig.daemon.state_path)


def test_sighup_reopens_the_sockets_without_a_new_startup_burst(tmp_path):
    rig = Rig(tmp_path)
    rig.at(1015.0, lambda: os.kill(os.getpid(), signal.SIGHUP))
    rig.stop_at(1030.0)
    rig.run()
    assert len(rig.sockets.receivers) == 2 and rig.sockets.receivers[0].closed_at == 1015.0
    assert rig.send_times() == [1000.0, 1002.5, 1012.5, 1022.5]
    assert 1015.0 in rig.writes


# --- both families on one interface (--mld-version) --------------------------------------------

LL, LL2, LOWER_LL = "fe80::5", "fe80::3", "fe80::2"
UP6 = UP._replace(link_local=LL)
MLD_TIMERS = TIMERS._replace(mld_version=2)


def mld_query_from(source, version=2):
    payload = codec_mld.encode_query_mld(version, 1000, 2, 10.0)
    return codec_mld.encode_ipv6(source, codec_mld.ALL_NODES, payload), False


def test_both_families_query_on_one_schedule_and_share_the_wakeups(tmp_path):
    rig = Rig(tmp_path, timers=MLD_TIMERS, state=UP6)
    rig.stop_at(1100.0)
    rig.run()
    times = [1000.0, 1002.5] + [1012.5 + 10.0 * i for i in range(9)]
    assert rig.send_times() == times
    sent6 = rig.sockets.queries6()
    assert [t for t, _d, _s, _q in sent6] == times
    assert all(d == "ff02::1" and s == LL and q.version == 2 and q.is_general and (q.qrv, q.qqi) == (2, 10)
               for _t, d, s, q in sent6)
    assert rig.netif.ipv6
    # both queries of an interval leave in one wake-up: no more wake-ups than with IPv4 alone
    assert rig.selector.wakeups <= len(times) + 1


def test_the_state_file_has_the_mld_object_beside_the_ipv4_top_level(tmp_path):
    rig = Rig(tmp_path, timers=MLD_TIMERS, state=UP6)
    rig.at(1005.0, lambda: rig.sockets.receivers6[-1].inbox.append(mld_query_from(LOWER_LL)))
    rig.at(1006.0, lambda: setattr(rig, "snapshot", rig.state()))
    rig.stop_at(1007.0)
    rig.run()
    doc = rig.snapshot
    assert doc["schema"] == 2
    assert (doc["role"], doc["querier"], doc["address"]) == ("querier", ME, ME)
    assert (doc["mld"]["role"], doc["mld"]["querier"], doc["mld"]["address"]) == ("non-querier", LOWER_LL, LL)
    assert doc["mld"]["mld_version"] == 2 and doc["mld"]["queries_sent"] == 2
    assert rig.send_times() == [1000.0, 1002.5]  # IPv4 carries on: the MLD election is its own


def test_without_mld_version_there_is_no_ipv6_socket_and_no_mld_object(tmp_path):
    rig = Rig(tmp_path, state=UP6)
    rig.at(1001.0, lambda: setattr(rig, "snapshot", rig.state()))
    rig.stop_at(1002.0)
    rig.run()
    assert rig.sockets.receivers6 == [] and rig.sockets.senders6 == []
    assert "mld" not in rig.snapshot and not rig.netif.ipv6


def test_mld_waits_for_a_usable_link_local_and_says_so_once_while_ipv4_queries(tmp_path, caplog):
    rig = Rig(tmp_path, timers=MLD_TIMERS, state=UP._replace(tentative=True))
    rig.at(1030.0, lambda: setattr(rig.netif, "state", UP6))  # DAD done; found at the next re-check
    rig.stop_at(1060.0)
    with caplog.at_level(logging.INFO, logger="igmp_querier"):
        rig.run()
    waits = [r.getMessage() for r in caplog.records if "link-local" in r.getMessage() and "No usable" in r.getMessage()]
    assert len(waits) == 1 and "tentative" in waits[0] and waits[0].startswith("MLD: ")
    assert rig.send_times()[:2] == [1000.0, 1002.5]
    sent6 = [t for t, _d, _s, _q in rig.sockets.queries6()]
    assert sent6[0] > 1030.0 and len(sent6) >= 2  # then its own startup burst
    assert sent6[1] - sent6[0] == 2.5


def test_a_new_link_local_reopens_the_mld_sender_on_it_and_leaves_ipv4_alone(tmp_path):
    rig = Rig(tmp_path, timers=MLD_TIMERS, state=UP6)
    rig.at(1020.0, lambda: setattr(rig.netif, "state", UP._replace(link_local=LL2)))
    rig.stop_at(1060.0)
    rig.run()
    sources = [(t, s) for t, _d, s, _q in rig.sockets.queries6()]
    changed = [t for t, s in sources if s == LL2]
    assert changed and all(s == LL for t, s in sources if t < changed[0])
    assert len(rig.sockets.senders) == 1  # the IPv4 sender was never reopened
    assert rig.send_times() == [1000.0, 1002.5] + [1012.5 + 10.0 * i for i in range(5)]


def test_an_mld_socket_failure_backs_off_alone(tmp_path):
    rig = Rig(tmp_path, timers=MLD_TIMERS, state=UP6)
    rig.sockets.open6_errors.extend([errno.EADDRNOTAVAIL, errno.EADDRNOTAVAIL])
    rig.stop_at(1010.0)
    rig.run()
    assert [t for t, kind in rig.sockets.opened_at if kind == "tx6"] == [1000.0, 1000.5, 1001.5]
    assert rig.send_times() == [1000.0, 1002.5]
    assert [t for t, _d, _s, _q in rig.sockets.queries6()] == [1001.5, 1004.0]
    assert rig.daemon.mld.backoff == side_module.BACKOFF_MIN


def test_after_a_link_flap_that_took_the_link_local_the_mld_startup_burst_waits_for_it(tmp_path):
    rig = Rig(tmp_path, timers=MLD_TIMERS, state=UP6)
    rig.at(1020.0, lambda: setattr(rig.netif, "state", DOWN._replace(link_local=None)))
    rig.at(1030.0, lambda: setattr(rig.netif, "state", UP))  # up, but IPv6 flushed its addresses
    rig.at(1045.0, lambda: setattr(rig.netif, "state", UP6))  # the link-local is back
    rig.stop_at(1070.0)
    rig.run()
    sent6 = [t for t, _d, _s, _q in rig.sockets.queries6()]
    after = [t for t in sent6 if t > 1030.0]
    assert after[0] > 1045.0 and after[1] - after[0] == 2.5  # the whole startup burst, from the address
    ipv4 = [t for t in rig.send_times() if t > 1030.0]
    assert ipv4[:2] == [ipv4[0], ipv4[0] + 2.5] and ipv4[0] < 1045.0  # IPv4 restarted at once

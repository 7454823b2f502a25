"""igmp_probe, run for real over loopback multicast.

Receivers are the module in its own process; the sender is the module's main() in this process
(or a raw UDP socket when a test needs datagrams the module would never send). A sender waits
until the receiver's membership shows in /proc/net/igmp instead of sleeping. One test runs the
receiver with ``async`` in a real ansible-playbook run. Traffic stays on ``lo``.
"""

import functools
import itertools
import json
import os
import socket
import struct
import subprocess
import sys
import time

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils import probe
from ansible_collections.multicast.igmp.plugins.modules import igmp_probe
from tests.helpers import collections_root, run_module as run_main, warnings_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE = os.path.join(REPO, "plugins", "modules", "igmp_probe.py")
LOCAL = "127.0.0.1"
IP_RECVTTL = 12
IP_TTL = 2
_groups = itertools.count(1)
#: ``run_module(capsys, **args)``: igmp_probe's main() in this process; (exit code, result).
run_module = functools.partial(run_main, igmp_probe.main)


def fresh_group():
    """A group and port no other test (or earlier run still leaving) uses."""
    n = next(_groups)
    return "239.255.%d.%d" % (os.getpid() % 250, n), 20000 + (os.getpid() * 7 + n) % 40000


def joined(group, device="lo"):
    """Whether ``group`` is joined on ``device`` (per /proc/net/igmp)."""
    wanted = "%08X" % struct.unpack("=I", socket.inet_aton(group))[0]
    current = None
    with open("/proc/net/igmp") as handle:
        for line in handle.readlines()[1:]:
            if not line.startswith("\t"):
                current = line.split()[1]
            elif current == device and line.split()[0] == wanted:
                return True
    return False


class Receiver:
    """The module in receive mode, as its own process."""

    def __init__(self, tmp_path, **args):
        self.group = args["group"]
        self.args_file = tmp_path / ("rx-%d.json" % next(_groups))
        self.args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(mode="receive", **args)}))
        env = dict(os.environ, PYTHONPATH=collections_root())
        self.proc = subprocess.Popen([sys.executable, MODULE, str(self.args_file)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 20
        while not joined(self.group):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out, err = self.proc.communicate()
                raise AssertionError("receiver never joined %s: %s %s" % (self.group, out, err))
            time.sleep(0.01)

    def result(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)
        assert out, err
        return self.proc.returncode, json.loads(out)


def udp_sender(ttl=1):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOCAL))
    return sock


# --- the happy path ---------------------------------------------------------------------------
def test_send_and_receive_without_loss(tmp_path, capsys):
    group, port = fresh_group()
    rx = Receiver(tmp_path, group=group, port=port, interface="lo", count=50, duration=20)
    rc, sent = run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=50, interval=0.002,
                          probe_id="unit-1")
    assert rc == 0 and sent["changed"] is False
    assert (sent["sent"], sent["errors"], sent["probe_id"], sent["ttl"], sent["payload_size"]) == (50, 0, "unit-1", 1, 64)
    assert sent["msg"].startswith("sent 50 of 50 probes to %s:%d on 127.0.0.1 (id unit-1, every 0.002 s, TTL 1)" % (group, port))
    rc, got = rx.result()
    assert rc == 0, got
    assert (got["received"], got["expected"], got["lost"], got["loss_percent"]) == (50, 50, 0, 0.0)
    assert (got["duplicated"], got["reordered"], got["foreign"]) == (0, 0, 0)
    assert got["sources"] == [LOCAL] and got["probe_ids"] == ["unit-1"]
    assert got["stopped"] == "count" and got["elapsed"] < 20
    assert got["first_arrival"] <= got["last_arrival"]
    assert got["delay"]["min"] >= 0 and got["delay"]["max"] < 5
    assert got["msg"] == "received 50/50 probes of %s:%d on lo (0.0%% lost) from 127.0.0.1" % (group, port)


def test_interval_paces_the_probes(tmp_path, capsys):
    group, port = fresh_group()
    rx = Receiver(tmp_path, group=group, port=port, interface="lo", count=6, duration=20)
    rc, sent = run_module(capsys, mode="send", group=group, port=port, interface="lo", count=6, interval=0.1)
    assert rc == 0 and sent["elapsed"] == pytest.approx(0.5, abs=0.15)
    assert probe.valid_probe_id(sent["probe_id"])  # a random one
    rc, got = rx.result()
    assert got["received"] == 6
    assert got["last_arrival"] - got["first_arrival"] == pytest.approx(0.5, abs=0.15)
    assert got["probe_ids"] == [sent["probe_id"]]


def test_payload_size_and_ttl_are_what_goes_on_the_wire(capsys):
    group, port = fresh_group()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((group, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(LOCAL))
    sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    sock.settimeout(5)
    try:
        rc, sent = run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=1, ttl=7,
                              payload_size=1000, probe_id="size")
        data, ancillary, _flags, address = sock.recvmsg(65535, socket.CMSG_SPACE(4))
    finally:
        sock.close()
    assert rc == 0 and len(data) == 1000 and address[0] == LOCAL
    assert [struct.unpack("i", value)[0] for level, kind, value in ancillary if kind == IP_TTL] == [7]
    decoded = probe.decode(data)
    assert (decoded.probe_id, decoded.sequence, decoded.total) == ("size", 0, 1)
    assert decoded.sent == pytest.approx(sent["start_time"], abs=1.0)


# --- what receivers count ------------------------------------------------------------------------
def test_loss_is_reported_when_fewer_arrive(tmp_path, capsys):
    group, port = fresh_group()
    rx = Receiver(tmp_path, group=group, port=port, interface="lo", count=10, duration=1.5)
    run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=6, interval=0)
    rc, got = rx.result()
    assert rc == 0
    assert (got["received"], got["expected"], got["lost"], got["loss_percent"]) == (6, 10, 4, 40.0)
    assert got["stopped"] == "duration" and got["elapsed"] == pytest.approx(1.5, abs=0.3)
    assert got["msg"].startswith("received 6/10 probes of %s:%d on lo (40.0%% lost)" % (group, port))


def test_receiver_of_another_group_gets_nothing(tmp_path, capsys):
    """The receiver did not join the group the probes go to: total loss, reported as such."""
    group, port = fresh_group()
    other = fresh_group()[0]
    rx = Receiver(tmp_path, group=other, port=port, interface="lo", count=5, duration=1.0)
    run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=5, interval=0)
    rc, got = rx.result()
    assert rc == 0
    assert (got["received"], got["lost"], got["loss_percent"], got["sources"]) == (0, 5, 100.0, [])
    assert got["first_arrival"] is None and got["delay"] is None


def test_expected_comes_from_the_probes_without_count(tmp_path, capsys):
    group, port = fresh_group()
    rx = Receiver(tmp_path, group=group, port=port, interface="lo", duration=1.0)
    run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=4, interval=0)
    rc, got = rx.result()
    assert (got["received"], got["expected"], got["loss_percent"], got["stopped"]) == (4, 4, 0.0, "duration")


def test_silence_without_count_says_loss_is_unknown(tmp_path):
    group, port = fresh_group()
    rc, got = Receiver(tmp_path, group=group, port=port, source=LOCAL, duration=0.3).result()
    assert rc == 0 and got["expected"] == 0 and got["loss_percent"] is None
    assert got["msg"] == "received no probes of %s:%d on 127.0.0.1 in 0 s (count not given: loss unknown)" % (group, port)


def test_probe_id_filter(tmp_path, capsys):
    group, port = fresh_group()
    rx = Receiver(tmp_path, group=group, port=port, interface="lo", probe_id="mine", count=3, duration=10)
    run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=5, interval=0, probe_id="theirs")
    run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=3, interval=0, probe_id="mine")
    rc, got = rx.result()
    assert (got["received"], got["expected"], got["lost"], got["other_probes"]) == (3, 3, 0, 5)
    assert got["probe_ids"] == ["mine"] and got["probe_id"] == "mine"


def test_duplicates_reordering_and_foreign_datagrams(tmp_path):
    group, port = fresh_group()
    rx = Receiver(tmp_path, group=group, port=port, interface="lo", duration=1.0)
    sock = udp_sender()
    try:
        for sequence in (0, 2, 1, 2, 3):
            sock.sendto(probe.encode("raw", sequence, 5, time.time()), (group, port))
        sock.sendto(b"somebody else's datagram", (group, port))
    finally:
        sock.close()
    rc, got = rx.result()
    assert (got["received"], got["duplicated"], got["reordered"], got["foreign"]) == (4, 1, 1, 1)
    assert (got["expected"], got["lost"]) == (5, 1)
    assert got["msg"].endswith("from 127.0.0.1, 1 duplicated, 1 reordered")


# --- check mode ---------------------------------------------------------------------------------
def test_check_mode_sends_nothing(tmp_path, capsys):
    group, port = fresh_group()
    rx = Receiver(tmp_path, group=group, port=port, interface="lo", duration=1.0)
    rc, sent = run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=5, interval=0,
                          probe_id="dry", _ansible_check_mode=True)
    assert rc == 0 and sent["sent"] == 0 and sent["changed"] is False
    assert sent["msg"] == "check mode: sent nothing; would send 5 probes to %s:%d on 127.0.0.1 (id dry, every 0 s, TTL 1)" % (group, port)
    rc, got = rx.result()
    assert got["received"] == 0 and got["foreign"] == 0


def test_check_mode_still_receives(tmp_path, capsys):
    group, port = fresh_group()
    args_file = tmp_path / "rx.json"
    args = dict(mode="receive", group=group, port=port, interface="lo", count=2, duration=10, _ansible_check_mode=True)
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.Popen([sys.executable, MODULE, str(args_file)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=collections_root()))
    while not joined(group):
        assert proc.poll() is None
        time.sleep(0.01)
    run_module(capsys, mode="send", group=group, port=port, source=LOCAL, count=2, interval=0)
    got = json.loads(proc.communicate(timeout=30)[0])
    assert got["received"] == 2


# --- bad options ----------------------------------------------------------------------------------
SEND = dict(mode="send", group="239.1.2.3", source=LOCAL)
GROUP_RULE = "group must be a multicast address, IPv4 (224.0.0.0/4) or IPv6 (ff00::/8)"
RECEIVE = dict(mode="receive", group="239.1.2.3", interface="lo")


@pytest.mark.parametrize("args, message", [
    (dict(SEND, group="10.1.1.1"), "%s, got 10.1.1.1" % GROUP_RULE),
    (dict(SEND, group="2001:db8::1"), "%s, got 2001:db8::1" % GROUP_RULE),
    (dict(SEND, group="239.1.2"), "%s, got '239.1.2'" % GROUP_RULE),
    (dict(SEND, port=0), "port must be 1..65535, got 0"),
    (dict(SEND, port=65536), "port must be 1..65535, got 65536"),
    (dict(SEND, count=0), "count must be 1..100000, got 0"),
    (dict(RECEIVE, count=100001), "count must be 1..100000, got 100001"),
    (dict(SEND, interval=-0.5), "interval must be 0..60 seconds, got -0.5"),
    (dict(SEND, interval=61), "interval must be 0..60 seconds, got 61"),
    (dict(SEND, count=100000, interval=1), "count x interval must be at most 86400 seconds, got 100000 x 1"),
    (dict(RECEIVE, duration=0), "duration must be more than 0 and at most 86400 seconds, got 0"),
    (dict(RECEIVE, duration=86401), "duration must be more than 0 and at most 86400 seconds, got 86401"),
    (dict(SEND, ttl=0), "ttl must be 1..255, got 0"),
    (dict(SEND, ttl=256), "ttl must be 1..255, got 256"),
    (dict(SEND, payload_size=55), "payload_size must be 56 (the probe header) to 8972 octets, got 55"),
    (dict(SEND, payload_size=9000), "payload_size must be 56 (the probe header) to 8972 octets, got 9000"),
    (dict(SEND, probe_id="has space"), "probe_id must be 1..32 letters, digits, '.', '_', ':' or '-', got 'has space'"),
    (dict(SEND, duration=5), "duration applies to mode=receive only, not mode=send"),
    (dict(RECEIVE, ttl=2), "ttl applies to mode=send only, not mode=receive"),
    (dict(RECEIVE, interval=1), "interval applies to mode=send only, not mode=receive"),
    (dict(RECEIVE, payload_size=100), "payload_size applies to mode=send only, not mode=receive"),
    (dict(SEND, source=None, interface="nosuch0"), "interface 'nosuch0' does not exist; interfaces here: "),
    (dict(SEND, source="1.2.3"), "source must be a unicast IPv4 address of this host, got '1.2.3'"),
    (dict(SEND, source="239.0.0.1"), "source must be a unicast IPv4 address of this host, got '239.0.0.1'"),
    (dict(SEND, interface="lo"), "parameters are mutually exclusive: interface|source"),
    (dict(SEND, mode="listen"), "value of mode must be one of: send, receive, got: listen"),
    (dict(mode="send", source=LOCAL), "missing required arguments: group"),
    (dict(SEND, count="many"), "count"),
])
def test_bad_options_fail_clearly(capsys, args, message):
    rc, out = run_module(capsys, **{k: v for k, v in args.items() if v is not None})
    assert rc == 1 and out["failed"] is True
    assert message in out["msg"]


def test_every_bad_option_is_named_at_once(capsys):
    rc, out = run_module(capsys, mode="send", group="10.0.0.1", port=0, ttl=0, source=LOCAL)
    assert out["msg"] == GROUP_RULE + ", got 10.0.0.1; port must be 1..65535, got 0; ttl must be 1..255, got 0"


def test_source_that_is_not_ours_fails_clearly(capsys):
    rc, out = run_module(capsys, mode="send", group="239.1.2.3", source="192.0.2.254", count=1)
    assert rc == 1
    assert out["msg"].startswith("cannot send from source 192.0.2.254: ")
    assert out["msg"].endswith("(is it an address of this host?)")
    assert out["sent"] == 0


def test_link_local_group_warns_that_it_proves_nothing(tmp_path, capsys):
    rc, out = run_module(capsys, mode="send", group="224.0.0.251", port=45999, source=LOCAL, count=1)
    assert rc == 0 and out["sent"] == 1
    assert any("224.0.0.0/24" in w and "239.1.2.3" in w for w in warnings_of(out))


# --- async in a real playbook -----------------------------------------------------------------------
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Receive in the background
      multicast.igmp.igmp_probe:
        mode: receive
        group: "{{ group }}"
        port: "{{ probe_port }}"
        interface: lo
        count: 20
        duration: 30
      async: 60
      poll: 0
      register: job

    - name: Wait for the receiver to join
      ansible.builtin.wait_for:
        path: /proc/net/igmp
        search_regex: "{{ hex }}"
        timeout: 30

    - name: Send
      multicast.igmp.igmp_probe:
        mode: send
        group: "{{ group }}"
        port: "{{ probe_port }}"
        source: 127.0.0.1
        count: 20
        interval: 0.01

    - name: Collect
      ansible.builtin.async_status:
        jid: "{{ job.ansible_job_id }}"
      register: got
      until: got.finished
      retries: 60
      delay: 0.5

    - name: Report
      ansible.builtin.debug:
        msg: "RESULT {{ got.received }} {{ got.expected }} {{ got.loss_percent }}"
"""


def test_receive_runs_under_async_in_a_playbook(tmp_path):
    playbook_cmd = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook_cmd):
        pytest.skip("ansible-playbook is not installed next to this python")
    group, port = fresh_group()
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_ASYNC_DIR=str(tmp_path / "async"),
               ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    hexgroup = "%08X" % struct.unpack("=I", socket.inet_aton(group))[0]
    proc = subprocess.run([playbook_cmd, "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
                           "-e", json.dumps({"group": group, "probe_port": port, "hex": hexgroup,
                                             "ansible_python_interpreter": sys.executable})],
                          capture_output=True, check=False, text=True, env=env, timeout=180, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RESULT 20 20 0.0" in proc.stdout


# --- hostile options and floods -------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (dict(RECEIVE, interface="lo\0"), "interface must not contain a NUL byte, got 'lo\\x00'"),
    (dict(SEND, source="127.0.0.1\0"), "source must not contain a NUL byte, got '127.0.0.1\\x00'"),
    (dict(SEND, group="239.1.2.3\0"), "group must not contain a NUL byte"),
    (dict(SEND, probe_id="run\0"), "probe_id must not contain a NUL byte"),
    (dict(SEND, source=None, interface="\0"), "interface must not contain a NUL byte"),
    (dict(SEND, source=None, interface="eth\r"), "interface must not contain control characters, got 'eth\\r'"),
    (dict(RECEIVE, duration=float("nan")), "duration must be more than 0 and at most 86400 seconds, got nan"),
    (dict(SEND, interval=float("inf")), "interval must be 0..60 seconds, got inf"),
])
def test_hostile_options_fail_naming_the_option(capsys, args, message):
    # no_log: no invocation logging, which on Python 3.13+ refuses a NUL first (the next test).
    args = {k: v for k, v in args.items() if v is not None}
    rc, out = run_module(capsys, _ansible_no_log=True, **args)
    assert rc == 1 and out["failed"] is True
    assert message in out["msg"]


def test_a_nul_byte_fails_the_module_with_invocation_logging_on_too(capsys):
    # Python 3.13+ syslog refuses a NUL, so ansible-core fails logging the invocation itself;
    # older Pythons leave it to the module. Either way nothing is sent or received.
    rc, out = run_module(capsys, **dict(RECEIVE, interface="lo\0"))
    assert rc == 1 and out["failed"] is True
    assert ("interface must not contain a NUL byte" in out["msg"]
            or out["msg"].startswith("Failed to log to syslog (embedded null"))


class StepClock:
    """A fake monotonic clock that advances ``step`` seconds each time it is read."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def queued_udp(datagrams):
    """A UDP socket on loopback with ``datagrams`` already waiting in it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((LOCAL, 0))
    sock.setblocking(False)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for datagram in datagrams:
            sender.sendto(datagram, sock.getsockname())
    return sock


def test_receive_checks_its_deadline_per_batch_while_datagrams_keep_coming():
    from ansible_collections.multicast.igmp.plugins.module_utils import observe
    sock = queued_udp(probe.encode("flood", n, 300, time.time()) for n in range(300))
    try:
        stats = probe.ReceiveStats()
        assert igmp_probe.receive_for(sock, stats, 0.05, clock=StepClock(0.01)) is False
        assert 0 < stats.received <= 2 * observe.BATCH  # draining the socket first would take all 300
        assert sock.recv(100)  # datagrams were left queued
    finally:
        sock.close()


def test_receive_stops_at_count_within_a_batch():
    from ansible_collections.multicast.igmp.plugins.module_utils import observe
    sock = queued_udp(probe.encode("flood", n, 300, time.time()) for n in range(300))
    try:
        stats = probe.ReceiveStats()
        assert igmp_probe.receive_for(sock, stats, 3600.0, count=10, clock=StepClock(0.01)) is True
        assert 10 <= stats.received <= observe.BATCH
    finally:
        sock.close()

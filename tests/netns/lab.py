"""A small network-namespace lab for the querier's integration tests and benchmarks.

One lab is a Linux bridge in its own namespace (IGMP snooping on, no querier of its own, short
multicast timers) and N hosts, each a namespace whose ``eth0`` is a veth to a port of the bridge::

    host ns "…-h1"  eth0 10.0.0.9/24  <-veth->  p1 ┐
    host ns "…-h2"  eth0 10.0.0.10/24 <-veth->  p2 ├ br0 (bridge ns "…-br")
    host ns "…-h3"  eth0 10.0.0.100/24 <-veth-> p3 ┘

Everything real: the daemon runs as ``python3 -m igmp_querier.main`` (the checkout's form of the
hosts' ``python3 -m igmp_querier``) in a host namespace, members
join groups with ``IP_ADD_MEMBERSHIP`` so that the member's kernel sends the reports, and the
bridge's snooping table is read with ``bridge mdb show``. Frames are captured with the core's own
AF_PACKET receiver (kernel receive timestamps) in whichever namespace the test chooses.

Names are unique per run (``iqlab-<pid>-<n>-…``). :meth:`Lab.close` kills every process left in
the lab's namespaces and deletes them; it runs on ``with`` exit, at interpreter exit, and a new
lab first sweeps the namespaces of lab owners that are no longer alive. Needs root.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

from tests import helpers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")


def daemon_pythonpath():
    """PYTHONPATH of a daemon started from the checkout: its package first, then the caller's
    PYTHONPATH (where tests/conftest.py puts the blocker that hides netifaces under
    MULTICAST_IGMP_NO_NETIFACES=1)."""
    return os.pathsep.join(filter(None, (MODULE_UTILS, os.environ.get("PYTHONPATH"))))


try:
    from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, sockets
    from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import state as statefile
except ImportError:  # outside pytest (the benchmarks): reuse tests/conftest.py's import set-up
    _spec = importlib.util.spec_from_file_location("_multicast_igmp_tests_conftest",
                                                   os.path.join(REPO, "tests", "conftest.py"))
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
    from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, sockets
    from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import state as statefile

PREFIX = "iqlab"
#: The bridge's mcast_membership_interval in the tests (seconds; Linux default 260).
MEMBERSHIP_INTERVAL = 4.0
#: Daemon timers for the tests: 1 s query interval, 0.5 s max response.
FAST = ("-q", "1", "-r", "0.5")
BRIDGE = "br0"
IFNAME = "eth0"
CLONE_NEWNET = 0x40000000
SO_TIMESTAMPNS = 35
ETH_P_IP = 0x0800

_counter = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)
_open_labs: "List[Lab]" = []


class LabError(RuntimeError):
    """A lab command failed or something did not happen in time."""


# --- environment ----------------------------------------------------------------------
def unavailable_reason() -> Optional[str]:
    """Why the lab cannot run here (None when it can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, bridge, raw sockets)"
    if shutil.which("ip") is None or shutil.which("bridge") is None:
        return "needs iproute2 (`ip`, `bridge`)"
    name = "%s-%d-probe" % (PREFIX, os.getpid())  # swept like a lab if we die in between
    probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return "`ip netns add` does not work here: %s" % probe.stderr.strip()
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return None


def run(cmd: Sequence[str], check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess:
    result = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise LabError("%s failed (%d): %s" % (" ".join(cmd), result.returncode, result.stderr.strip()))
    return result


@contextlib.contextmanager
def netns(name: str):
    """Run the block with this thread in network namespace ``name`` (sockets made there stay there)."""
    with open("/proc/thread-self/ns/net") as home, open("/run/netns/" + name) as target:
        if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns(%s): %s" % (name, os.strerror(err)))
        try:
            yield
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET) != 0:  # cannot happen; never continue in the wrong ns
                os._exit(70)


def multicast_mac(group: str) -> bytes:
    octets = socket.inet_aton(group)
    return b"\x01\x00\x5e" + bytes([octets[1] & 0x7F, octets[2], octets[3]])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespaces() -> List[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def destroy_namespace(name: str) -> None:
    """Kill every process in ``name`` and delete it."""
    for _attempt in range(3):
        pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.05)
    run(["ip", "netns", "del", name], check=False)


def sweep_stale() -> List[str]:
    """Delete lab namespaces whose creating process is gone (a run killed before cleanup)."""
    removed = []
    for name in namespaces():
        match = re.match(r"%s-(\d+)-" % PREFIX, name)
        if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
            destroy_namespace(name)
            removed.append(name)
    return removed


@atexit.register
def _close_all() -> None:
    for lab in list(_open_labs):
        lab.close()


# --- membership -----------------------------------------------------------------------
class Membership:
    """A group joined with IP_ADD_MEMBERSHIP on a UDP socket in a host's namespace.

    The member's kernel sends the reports (and, on :meth:`leave`, a leave when it runs IGMPv2).
    With ``port``, the socket is bound to ``group:port`` and :meth:`arrivals` returns the kernel
    receive times of the datagrams of a :class:`Stream` that reached this member.
    """

    def __init__(self, host: "Host", group: str, port: Optional[int] = None) -> None:
        self.host, self.group, self.port = host, group, port
        self._arrivals: List[float] = []
        with netns(host.ns):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            if port is not None:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                self.sock.bind((group, port))
                self.sock.setblocking(False)
            mreqn = struct.pack("4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"),
                                socket.if_nametoindex(host.ifname))
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)

    def arrivals(self) -> List[float]:
        """Kernel receive times (CLOCK_REALTIME) of every datagram received so far."""
        while self.sock is not None and self.port is not None:
            try:
                ancdata = self.sock.recvmsg(2048, socket.CMSG_SPACE(16))[1]
            except (BlockingIOError, InterruptedError):
                break
            self._arrivals.append(_timestamp(ancdata))
        return list(self._arrivals)

    def leave(self) -> None:
        if self.sock is not None:
            self.arrivals()
            self.sock.close()
            self.sock = None

    close = leave


class Stream:
    """A multicast source: a UDP datagram to ``group:port`` every ``interval`` seconds (TTL 1)."""

    def __init__(self, host: "Host", group: str, port: int, interval: float = 0.05) -> None:
        self.host, self.group, self.port, self.interval = host, group, port, interval
        with netns(host.ns):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(host.address))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, name="stream-" + host.name, daemon=True)
        self._thread.start()

    def _send(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sock.sendto(b"%d" % self.sent, (self.group, self.port))
                self.sent += 1
            except OSError:  # the source's link may be gone in a test; keep trying
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.sock.close()


def _timestamp(ancdata) -> float:
    for level, kind, value in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
            sec, nsec = struct.unpack("qq", value[:16])
            return sec + nsec / 1e9
    return time.time()


# --- capture --------------------------------------------------------------------------
class Frame(NamedTuple):
    time: float  # kernel receive time, CLOCK_REALTIME seconds
    src: str
    dst: str
    message: object  # a codec message, or codec.Malformed
    outgoing: bool


class Capture:
    """Every IGMP frame on a host's interface, via the core's AF_PACKET receiver, timestamped by
    the kernel. A background thread reads; :meth:`frames` and :meth:`queries` snapshot."""

    def __init__(self, host: "Host") -> None:
        self.host = host
        with netns(host.ns):
            self.sock = sockets.open_receiver(host.ifname, socket.if_nametoindex(host.ifname))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._frames: List[Frame] = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._read, name="capture-" + host.name, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        space = socket.CMSG_SPACE(16)
        while not self._stop:
            ready = select.select([self.sock], [], [], 0.1)[0]
            if not ready:
                continue
            while True:
                try:
                    data, ancdata, _flags, address = self.sock.recvmsg(65535, space)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    return
                stamp = _timestamp(ancdata)
                packet = codec.decode_ipv4(data)
                if isinstance(packet, codec.Malformed):
                    frame = Frame(stamp, "", "", packet, address[2] == 4)
                else:
                    frame = Frame(stamp, packet.src, packet.dst, packet.message, address[2] == 4)
                with self._lock:
                    self._frames.append(frame)

    def frames(self) -> List[Frame]:
        with self._lock:
            return list(self._frames)

    def queries(self, src: Optional[str] = None, since: float = 0.0, general: Optional[bool] = None) -> List[Frame]:
        out = []
        for f in self.frames():
            if not isinstance(f.message, codec.Query) or f.time < since:
                continue
            if src is not None and f.src != src:
                continue
            if general is not None and f.message.is_general != general:
                continue
            out.append(f)
        return out

    def wait_query(self, src: Optional[str] = None, since: float = 0.0, timeout: float = 10.0,
                   general: Optional[bool] = None) -> Frame:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.queries(src, since, general)
            if found:
                return found[0]
            time.sleep(0.02)
        raise LabError("no query%s on %s within %.1f s" % (" from " + src if src else "", self.host.name, timeout))

    def close(self) -> None:
        self._stop = True
        self._thread.join(2.0)
        self.sock.close()


# --- daemon ---------------------------------------------------------------------------
class Daemon:
    """``python3 -m igmp_querier.main`` running in a host's namespace, logging to a file."""

    def __init__(self, host: "Host", args: Sequence[str], python: Optional[str] = None,
                 state_dir: Optional[str] = None, wrapper: Sequence[str] = ()) -> None:
        self.host = host
        self.lab = host.lab
        self.index = next(_counter)
        base = os.path.join(self.lab.workdir, "daemon-%s-%d" % (host.name, self.index))
        self.state_dir = state_dir or base + ".state"
        self.log_path = base + ".log"
        self.state_path = statefile.state_path(self.state_dir, host.ifname)
        env = dict(os.environ, PYTHONPATH=daemon_pythonpath(), PYTHONDONTWRITEBYTECODE="1")
        env.pop("JOURNAL_STREAM", None)
        self.argv = ["ip", "netns", "exec", host.ns, *wrapper, python or sys.executable, "-m", "igmp_querier.main",
                     "-i", host.ifname, "--state-dir", self.state_dir, *args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         stdin=subprocess.DEVNULL)
        self.lab.daemons.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        with open(self.log_path, errors="replace") as handle:
            return handle.read()

    def wait_log(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            content = self.log()
            if text in content:
                return content
            if not self.alive():
                break
            time.sleep(0.05)
        raise LabError("%r not in the log of %s within %.1f s (exit %s):\n%s"
                       % (text, self.host.name, timeout, self.proc.poll(), self.log()))

    def state(self) -> Dict:
        return statefile.read(self.state_path)

    def wait_state(self, predicate: Callable[[Dict], bool], timeout: float = 10.0, what: str = "condition") -> Dict:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = self.state()
                if predicate(last):
                    return last
            except statefile.StateError as exc:
                last = exc
            if not self.alive():
                break
            time.sleep(0.05)
        raise LabError("state of %s: %s not reached within %.1f s; last: %r\nlog:\n%s"
                       % (self.host.name, what, timeout, last, self.log()))

    def send_signal(self, signum: int) -> None:
        if self.alive():
            self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Signal and wait; returns the exit status (negative: killed by a signal)."""
        self.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise LabError("%s did not exit within %.1f s of signal %d" % (self.host.name, timeout, signum))

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)

    def socket_inodes(self) -> set:
        """The ``socket:[N]`` links of the daemon's open descriptors (a reopened socket gets a new N)."""
        inodes = set()
        for fd in os.listdir("/proc/%d/fd" % self.pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (self.pid, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target)
        return inodes

    def cpu_seconds(self) -> float:
        """utime + stime of the daemon so far (from /proc/<pid>/stat)."""
        with open("/proc/%d/stat" % self.pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self) -> Dict[str, str]:
        """/proc/<pid>/status as a dict."""
        out = {}
        with open("/proc/%d/status" % self.pid) as handle:
            for line in handle:
                key, _sep, value = line.partition(":")
                out[key] = value.strip()
        return out


# --- hosts and the lab ----------------------------------------------------------------
class Host:
    def __init__(self, lab: "Lab", name: str, address: str, prefix: int, port: str) -> None:
        self.lab, self.name, self.address, self.prefix, self.port = lab, name, address, prefix, port
        self.ns = "%s-%s" % (lab.name, name)
        self.ifname = IFNAME

    def __repr__(self) -> str:
        return "Host(%s %s)" % (self.name, self.address)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.ns, *args], check=check)

    def exec(self, *cmd: str, check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.ns, *cmd], check=check, timeout=timeout)

    def sysctl(self, key: str, value: object) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        with netns(self.ns):
            fd = os.open(path, os.O_WRONLY)  # /proc/sys/net is per network namespace of the opener
            try:
                os.write(fd, str(value).encode())
            finally:
                os.close(fd)

    # link and address
    def link_up(self) -> None:
        self.ip("link", "set", self.ifname, "up")

    def link_down(self) -> None:
        self.ip("link", "set", self.ifname, "down")

    def delete_link(self) -> None:
        """Delete the veth (both ends: the bridge loses the port too)."""
        self.ip("link", "del", self.ifname)

    def create_link(self, address: Optional[str] = None) -> None:
        """(Re-)create the veth to the bridge, with ``address`` (default: the host's), and bring it up."""
        if address is not None:
            self.address = address
        self.lab.bridge_ip("link", "add", self.port, "type", "veth", "peer", "name", self.ifname, "netns", self.ns)
        self.lab.bridge_ip("link", "set", self.port, "master", BRIDGE, "up")
        self.ip("addr", "add", "%s/%d" % (self.address, self.prefix), "dev", self.ifname)
        self.ip("link", "set", self.ifname, "up")

    def set_address(self, address: str) -> None:
        """Replace the interface's IPv4 address."""
        self.ip("addr", "flush", "dev", self.ifname, "scope", "global")
        self.ip("addr", "add", "%s/%d" % (address, self.prefix), "dev", self.ifname)
        self.address = address

    # traffic
    def join(self, group: str, port: Optional[int] = None) -> Membership:
        membership = Membership(self, group, port)
        self.lab.memberships.append(membership)
        return membership

    def stream(self, group: str, port: int, interval: float = 0.05) -> Stream:
        stream = Stream(self, group, port, interval)
        self.lab.streams.append(stream)
        return stream

    def quick_reports(self, milliseconds: int = 100) -> None:
        """Make the kernel send its unsolicited reports (join, retransmit) within ``milliseconds``."""
        for version in (2, 3):
            self.sysctl("net.ipv4.conf.%s.igmpv%d_unsolicited_report_interval" % (self.ifname, version), milliseconds)

    def packet_socket(self) -> socket.socket:
        """An AF_PACKET SOCK_DGRAM socket made in this namespace (send with :meth:`send_on`)."""
        with netns(self.ns):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        self.lab.sockets.append(sock)
        return sock

    def send_igmp(self, payload: bytes, dst: str, src: Optional[str] = None, **ip_options) -> None:
        """Send an IGMP message (the IP payload) from this host's interface, IP header built here."""
        datagram = codec.encode_ipv4(src or self.address, dst, payload, **ip_options)
        self.send_datagram(datagram, dst)

    def send_datagram(self, datagram: bytes, dst: str) -> None:
        with netns(self.ns):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
            try:
                sock.sendto(datagram, (self.ifname, ETH_P_IP, 0, 0, multicast_mac(dst)))
            finally:
                sock.close()

    def inject_on_port(self, datagram: bytes, dst: str = "224.0.0.1", mac: Optional[bytes] = None) -> None:
        """Send a raw IPv4 datagram from the bridge's port straight to this host (bypasses the
        bridge's snooping, which drops IGMP with bad checksums before forwarding). ``mac``: the
        Ethernet destination (default: the multicast MAC of ``dst``)."""
        self.lab.send_on_port(self.port, datagram, dst, mac)

    def mac(self) -> bytes:
        """This host's interface MAC address."""
        text = self.exec("cat", "/sys/class/net/%s/address" % self.ifname).stdout.strip()
        return bytes(int(part, 16) for part in text.split(":"))

    def capture(self) -> Capture:
        capture = Capture(self)
        self.lab.captures.append(capture)
        return capture

    def daemon(self, *args: str, **kwargs) -> Daemon:
        return Daemon(self, args, **kwargs)


class Lab:
    """A bridge namespace plus hosts. Use as a context manager (or call :meth:`close`).

    Timers are in seconds; the bridge keeps them in centiseconds.
    """

    def __init__(self, membership_interval: float = MEMBERSHIP_INTERVAL, querier_interval: float = 60.0,
                 last_member_interval: float = 0.5, last_member_count: int = 2,
                 workdir: Optional[str] = None, tag: str = "") -> None:
        sweep_stale()
        self.name = "%s-%d-%d%s" % (PREFIX, os.getpid(), next(_counter), ("-" + tag) if tag else "")
        self.bridge_ns = self.name + "-br"
        self.hosts: Dict[str, Host] = {}
        self.daemons: List[Daemon] = []
        self.captures: List[Capture] = []
        self.memberships: List[Membership] = []
        self.streams: List[Stream] = []
        self.sockets: List[socket.socket] = []
        self._namespaces: List[str] = []
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=self.name + "-")
        self.closed = False
        _open_labs.append(self)
        try:
            self._add_namespace(self.bridge_ns)
            self.bridge_ip("link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "mcast_snooping", "1",
                           "mcast_querier", "0", "mcast_membership_interval", _centi(membership_interval),
                           "mcast_querier_interval", _centi(querier_interval),
                           "mcast_last_member_interval", _centi(last_member_interval),
                           "mcast_last_member_count", str(last_member_count))
            self.bridge_ip("link", "set", BRIDGE, "up")
        except BaseException:
            self.close()
            raise
        self.membership_interval = membership_interval

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _add_namespace(self, name: str) -> None:
        run(["ip", "netns", "add", name])
        self._namespaces.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        for key in ("all", "default"):  # no IPv6 chatter (DAD, MLD) on the test links
            run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % key], check=False)

    def bridge_ip(self, *args: str) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.bridge_ns, *args])

    def add_host(self, name: str, address: str, prefix: int = 24) -> Host:
        if name in self.hosts:
            raise LabError("host %s exists" % name)
        host = Host(self, name, address, prefix, "p%d" % (len(self.hosts) + 1))
        self._add_namespace(host.ns)
        self.hosts[name] = host
        host.create_link()
        return host

    def _mdb_json(self) -> List[Dict]:
        out = run(["ip", "netns", "exec", self.bridge_ns, "bridge", "-j", "-d", "mdb", "show"]).stdout
        return json.loads(out or "[]")

    def mdb(self) -> List[Dict[str, str]]:
        """The bridge's snooping table: [{"port", "grp", "state", ...}] from ``bridge -j -d mdb show``."""
        entries: List[Dict[str, str]] = []
        for block in self._mdb_json():
            entries.extend(e for e in block.get("mdb", []) if e.get("dev") == BRIDGE)
        return entries

    def mdb_ports(self, group: str) -> List[str]:
        """The bridge ports that have a snooped member of ``group``."""
        return sorted(e["port"] for e in self.mdb() if e.get("grp") == group)

    def router_ports(self) -> List[str]:
        """The ports the bridge has learned a querier (multicast router) on."""
        ports: List[str] = []
        for block in self._mdb_json():
            router = block.get("router")
            if isinstance(router, dict):
                ports.extend(entry.get("port") for entry in router.get(BRIDGE, []))
        return sorted(p for p in ports if p)

    def send_on_port(self, port: str, datagram: bytes, dst: str = "224.0.0.1", mac: Optional[bytes] = None) -> None:
        with netns(self.bridge_ns):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
            try:
                sock.sendto(datagram, (port, ETH_P_IP, 0, 0, mac or multicast_mac(dst)))
            finally:
                sock.close()

    def port_socket(self) -> socket.socket:
        """An AF_PACKET SOCK_DGRAM socket in the bridge namespace (for floods onto a port)."""
        with netns(self.bridge_ns):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        self.sockets.append(sock)
        return sock

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for capture in self.captures:
            with contextlib.suppress(Exception):
                capture.close()
        for stream in self.streams:
            with contextlib.suppress(Exception):
                stream.close()
        for membership in self.memberships:
            membership.leave()
        for sock in self.sockets:
            sock.close()
        for daemon in self.daemons:
            with contextlib.suppress(Exception):
                daemon.kill()
        for name in reversed(self._namespaces):
            destroy_namespace(name)
        if self._own_workdir and not os.environ.get("IQLAB_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        with contextlib.suppress(ValueError):
            _open_labs.remove(self)


def _centi(seconds: float) -> str:
    """Seconds as the bridge's centiseconds."""
    return str(int(round(seconds * 100)))


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns something true; raise :class:`LabError` on timeout."""
    return helpers.wait_until(predicate, timeout, what, interval, error=LabError)


__all__ = ["MEMBERSHIP_INTERVAL", "FAST", "Lab", "Host", "Daemon", "Capture", "Frame", "Membership", "Stream", "LabError", "unavailable_reason",
           "wait_until", "netns", "codec", "sockets", "statefile"]

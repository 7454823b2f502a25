"""IPv6 for the namespace lab (lab.py): link-local addresses, MLD members, the bridge's MLD
snooping and querier, and an MLD capture decoded by scapy.

lab.py turns IPv6 off in every namespace (no DAD or MLD chatter on the IPv4 tests). These helpers
turn it on again where an MLD test needs it::

    host = lab.add_host("q", "10.0.0.1")
    lab6.enable_ipv6(host, "fe80::9")        # addrgenmode none + fe80::9/64 nodad on eth0
    member = lab6.join(member_host, "ff05::1:2:3")
    lab6.mdb_ports(lab, "ff05::1:2:3")        # ["p2"]: the bridge snooped the MLD report

The hosts' kernels send the MLD reports (a UDP socket with IPV6_JOIN_GROUP, as for IPv4). A
host's only link-local address is the one the test gives it (``addrgenmode none``), added with
``nodad`` or, with ``dad=True``, left to the kernel's duplicate address detection (tentative
for about a second). Captured frames are decoded by scapy: an oracle independent of our codec.
"""

from __future__ import annotations

import ipaddress
import json
import os
import select
import socket
import struct
import threading
import time
from typing import Dict, List, NamedTuple, Optional

from scapy.layers.inet import IP
from scapy.layers.inet6 import (ICMPv6MLQuery, ICMPv6MLQuery2, IPv6, IPv6ExtHdrHopByHop, RouterAlert)
from scapy.layers.l2 import Ether
from scapy.utils import checksum

from tests.netns import lab as netlab

ETH_P_ALL = 0x0003
ETH_P_IPV6 = 0x86DD
ALL_NODES = "ff02::1"
IGMP_QUERY = 0x11


def normal(address: str) -> str:
    """``address`` in the canonical compressed form (what the daemon and the bridge print)."""
    return str(ipaddress.ip_address(address.split("%")[0]))


def ipv6_mac(group: str) -> bytes:
    """The Ethernet destination of an IPv6 multicast group (33:33 + the low 32 bits, RFC 2464)."""
    return b"\x33\x33" + ipaddress.IPv6Address(group).packed[-4:]


# --- addresses ------------------------------------------------------------------------
def enable_ipv6(host: "netlab.Host", link_local: Optional[str] = None, dad: bool = False,
                report_interval_ms: int = 100) -> None:
    """IPv6 on the host's interface with ``link_local`` as its only link-local address (none
    when omitted: the kernel makes none itself), and the MLD reports sent within
    ``report_interval_ms`` of a join."""
    host.ip("link", "set", host.ifname, "addrgenmode", "none")  # no EUI-64 address of the kernel's own
    host.sysctl("net.ipv6.conf.%s.disable_ipv6" % host.ifname, 0)
    for version in (1, 2):
        host.sysctl("net.ipv6.conf.%s.mldv%d_unsolicited_report_interval" % (host.ifname, version),
                    report_interval_ms)
    if link_local is not None:
        add_link_local(host, link_local, dad=dad)


def add_link_local(host: "netlab.Host", address: str, dad: bool = False) -> None:
    """Add ``address``/64 to the host's interface; without ``dad`` it is usable at once."""
    host.ip("addr", "add", "%s/64" % address, "dev", host.ifname, *(() if dad else ("nodad",)))


def remove_link_local(host: "netlab.Host", address: str) -> None:
    host.ip("addr", "del", "%s/64" % address, "dev", host.ifname)


def link_locals(host: "netlab.Host", ifname: Optional[str] = None, bridge: bool = False) -> Dict[str, List[str]]:
    """{address: flags} of the interface's link-local addresses (flags: "tentative", "nodad", ...)."""
    args = ("-j", "-6", "addr", "show", "dev", ifname or host.ifname, "scope", "link")
    out = host.lab.bridge_ip(*args).stdout if bridge else host.ip(*args).stdout
    found: Dict[str, List[str]] = {}
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") == "inet6":
                flags = [key for key in ("tentative", "nodad", "dadfailed") if info.get(key)]
                found[normal(info["local"])] = flags
    return found


def wait_usable(host: "netlab.Host", address: str, timeout: float = 5.0) -> float:
    """Wait until ``address`` is on the host's interface and no longer tentative (DAD done);
    returns the last time (time.time()) it was seen tentative, 0.0 if never."""
    want = normal(address)
    last_tentative = 0.0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = time.time()
        flags = link_locals(host).get(want)
        if flags is not None and "tentative" not in flags and "dadfailed" not in flags:
            return last_tentative
        if flags is not None and "tentative" in flags:
            last_tentative = seen
        time.sleep(0.02)
    raise netlab.LabError("%s not usable on %s within %.1f s: %s" % (address, host.name, timeout, link_locals(host)))


# --- the bridge -----------------------------------------------------------------------
def bridge_set(lab: "netlab.Lab", *settings: str) -> None:
    """``ip link set br0 type bridge SETTINGS`` in the bridge's namespace."""
    lab.bridge_ip("link", "set", netlab.BRIDGE, "type", "bridge", *settings)


def bridge_querier(lab: "netlab.Lab", link_local: str, mld_version: int = 2, query_interval: float = 1.0,
                   response_interval: float = 0.5) -> None:
    """Make the bridge an MLD querier of its own: IPv6 and ``link_local`` on br0 (the kernel's
    querier needs a source address), ``mcast_querier 1``. Its IGMP querier stays silent: br0
    has no IPv4 address, and the bridge sends IGMP queries from 0.0.0.0, which no daemon counts."""
    lab.bridge_ip("link", "set", netlab.BRIDGE, "addrgenmode", "none")
    with netlab.netns(lab.bridge_ns):
        fd = os.open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % netlab.BRIDGE, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
    lab.bridge_ip("addr", "add", "%s/64" % link_local, "dev", netlab.BRIDGE, "nodad")
    bridge_set(lab, "mcast_mld_version", str(mld_version),
               "mcast_query_interval", netlab._centi(query_interval),
               "mcast_query_response_interval", netlab._centi(response_interval),
               "mcast_startup_query_interval", netlab._centi(query_interval / 4),
               "mcast_querier", "1")


def bridge_querier_off(lab: "netlab.Lab") -> None:
    bridge_set(lab, "mcast_querier", "0")


def bridge_details(lab: "netlab.Lab") -> Dict:
    """The bridge's ``ip -d -j link show`` linkinfo data (mcast_* settings, the elected queriers)."""
    out = lab.bridge_ip("-d", "-j", "link", "show", netlab.BRIDGE).stdout
    return json.loads(out)[0]["linkinfo"]["info_data"]


def mdb6(lab: "netlab.Lab") -> List[Dict[str, str]]:
    """The IPv6 entries of the bridge's snooping table, ``grp`` in canonical form."""
    entries = []
    for entry in lab.mdb():
        group = entry.get("grp", "")
        if ":" in group:
            entries.append(dict(entry, grp=normal(group)))
    return entries


def mdb_ports(lab: "netlab.Lab", group: str) -> List[str]:
    """The bridge ports with a snooped member of the IPv6 ``group``."""
    want = normal(group)
    return sorted(e["port"] for e in mdb6(lab) if e["grp"] == want)


# --- members --------------------------------------------------------------------------
class Membership6:
    """An IPv6 group joined with IPV6_JOIN_GROUP on the host's interface: its kernel sends the
    MLD reports (and a Done on :meth:`leave`). With ``port``, bound to [group]:port, and
    :meth:`arrivals` returns the receive times of the datagrams that reached it."""

    def __init__(self, host: "netlab.Host", group: str, port: Optional[int] = None) -> None:
        self.host, self.group, self.port = host, group, port
        self._arrivals: List[float] = []
        with netlab.netns(host.ns):
            ifindex = socket.if_nametoindex(host.ifname)
            self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            if port is not None:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.sock.setsockopt(socket.SOL_SOCKET, netlab.SO_TIMESTAMPNS, 1)
                self.sock.bind((group, port, 0, ifindex))
                self.sock.setblocking(False)
            mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", ifindex)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)

    def arrivals(self) -> List[float]:
        while self.sock is not None and self.port is not None:
            try:
                ancdata = self.sock.recvmsg(2048, socket.CMSG_SPACE(16))[1]
            except (BlockingIOError, InterruptedError):
                break
            self._arrivals.append(netlab._timestamp(ancdata))
        return list(self._arrivals)

    def leave(self) -> None:
        if self.sock is not None:
            self.arrivals()
            self.sock.close()
            self.sock = None

    close = leave


def join(host: "netlab.Host", group: str, port: Optional[int] = None) -> Membership6:
    membership = Membership6(host, group, port)
    host.lab.memberships.append(membership)  # left on Lab.close
    return membership


class Stream6(netlab.Stream):
    """A UDP datagram to [group]:port every ``interval`` seconds out of the host's interface
    (Hop Limit 1, source: its link-local address)."""

    def __init__(self, host: "netlab.Host", group: str, port: int, interval: float = 0.05) -> None:
        self.host, self.group, self.port, self.interval = host, group, port, interval
        with netlab.netns(host.ns):
            self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(host.ifname))
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, name="stream6-" + host.name, daemon=True)
        self._thread.start()
        host.lab.streams.append(self)


# --- queries --------------------------------------------------------------------------
def mld_query(src: str, version: int = 2, mrd_ms: int = 500, dst: str = ALL_NODES, hlim: int = 1) -> bytes:
    """A General Query built by scapy (Hop-by-Hop Router Alert, ICMPv6 checksum by scapy)."""
    head = IPv6(src=src, dst=dst, hlim=hlim) / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)])
    body = ICMPv6MLQuery2(mrd=mrd_ms) if version == 2 else ICMPv6MLQuery(mrd=mrd_ms)
    return bytes(head / body)


def send_ipv6(host: "netlab.Host", datagram: bytes) -> None:
    """Send an IPv6 datagram out of the host's interface (link layer by the kernel)."""
    dst = socket.inet_ntop(socket.AF_INET6, datagram[24:40])
    with netlab.netns(host.ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        try:
            sock.sendto(datagram, (host.ifname, ETH_P_IPV6, 0, 0, ipv6_mac(dst)))
        finally:
            sock.close()


# --- capture --------------------------------------------------------------------------
class Query(NamedTuple):
    time: float  # kernel receive time, CLOCK_REALTIME seconds
    family: int  # 4 or 6
    src: str
    dst: str
    hop_limit: int  # IPv4 TTL or IPv6 Hop Limit
    router_alert: bool  # IPv4 option 148 / IPv6 Hop-by-Hop Router Alert value 0
    version: int  # IGMP 1-3 / MLD 1-2
    checksum_ok: bool  # scapy's checksum over the same bytes
    general: bool
    packet: object  # the scapy packet


class QueryCapture:
    """Every IGMP and MLD query on a host's interface (both directions), decoded by scapy, with
    kernel receive times. A background thread reads; :meth:`queries` snapshots."""

    def __init__(self, host: "netlab.Host") -> None:
        self.host = host
        with netlab.netns(host.ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((host.ifname, ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, netlab.SO_TIMESTAMPNS, 1)
        self.sock.setblocking(False)
        self._queries: List[Query] = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._read, name="capture6-" + host.name, daemon=True)
        self._thread.start()
        host.lab.captures.append(self)

    def _read(self) -> None:
        space = socket.CMSG_SPACE(16)
        while not self._stop:
            if not select.select([self.sock], [], [], 0.1)[0]:
                continue
            while True:
                try:
                    data, ancdata = self.sock.recvmsg(65535, space)[:2]
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    return
                query = decode_query(data, netlab._timestamp(ancdata))
                if query is not None:
                    with self._lock:
                        self._queries.append(query)

    def queries(self, family: Optional[int] = None, src: Optional[str] = None, since: float = 0.0,
                general: Optional[bool] = None) -> List[Query]:
        want = normal(src) if src is not None and family != 4 and ":" in src else src
        with self._lock:
            found = list(self._queries)
        return [q for q in found if q.time >= since and (family is None or q.family == family)
                and (want is None or q.src == want) and (general is None or q.general == general)]

    def wait_query(self, family: Optional[int] = None, src: Optional[str] = None, since: float = 0.0,
                   timeout: float = 10.0, general: Optional[bool] = None) -> Query:
        return netlab.wait_until(lambda: (self.queries(family, src, since, general) or [None])[0], timeout,
                                 "a query (IPv%s) from %s on %s" % (family or "4/6", src or "anyone", self.host.name),
                                 interval=0.02)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2.0)
        self.sock.close()


def decode_query(frame: bytes, stamp: float) -> Optional[Query]:
    """An IGMP or MLD query in an Ethernet frame, or None for anything else."""
    try:
        ether = Ether(frame)
    except Exception:  # scapy on arbitrary frames; anything it cannot parse is not a query here
        return None
    if IPv6 in ether:
        ip6 = ether[IPv6]
        hbh = ip6.getlayer(IPv6ExtHdrHopByHop)
        query = ip6.getlayer(ICMPv6MLQuery2) or ip6.getlayer(ICMPv6MLQuery)
        if query is None:
            return None
        alert = hbh is not None and any(isinstance(o, RouterAlert) and o.value == 0 for o in hbh.options)
        # scapy's IPv6 checksum needs the pseudo-header: rebuild the whole datagram without it.
        rebuilt = IPv6(bytes(ip6))
        layer = rebuilt.getlayer(ICMPv6MLQuery2) or rebuilt.getlayer(ICMPv6MLQuery)
        wire = layer.cksum
        del layer.cksum
        recomputed = IPv6(bytes(rebuilt))
        ok = (recomputed.getlayer(ICMPv6MLQuery2) or recomputed.getlayer(ICMPv6MLQuery)).cksum == wire
        version = 2 if isinstance(query, ICMPv6MLQuery2) else 1
        return Query(stamp, 6, normal(ip6.src), normal(ip6.dst), ip6.hlim, alert, version, ok,
                     normal(query.mladdr) == "::", ether)
    if IP in ether and ether[IP].proto == 2:
        ip4 = ether[IP]
        payload = bytes(ip4.payload)
        if not payload or payload[0] != IGMP_QUERY:
            return None
        version = 3 if len(payload) >= 12 else (2 if payload[1] else 1)
        alert = any(getattr(o, "option", None) == 20 for o in ip4.options)
        return Query(stamp, 4, ip4.src, ip4.dst, ip4.ttl, alert, version, checksum(payload) == 0,
                     payload[4:8] == b"\0\0\0\0", ether)
    return None


def mld_state(daemon: "netlab.Daemon") -> Dict:
    """The "mld" object of the daemon's state file (LabError while absent)."""
    state = daemon.state()
    if not isinstance(state.get("mld"), dict):
        raise netlab.LabError("state file of %s has no mld object" % daemon.host.name)
    return state["mld"]


def wait_mld_state(daemon: "netlab.Daemon", predicate, timeout: float = 10.0, what: str = "condition") -> Dict:
    """Wait until the state file's "mld" object satisfies ``predicate``; returns that object."""
    state = daemon.wait_state(lambda s: isinstance(s.get("mld"), dict) and predicate(s["mld"]), timeout, what)
    return state["mld"]


__all__ = ["enable_ipv6", "add_link_local", "remove_link_local", "link_locals", "wait_usable", "bridge_set",
           "bridge_querier", "bridge_querier_off", "bridge_details", "mdb6", "mdb_ports", "Membership6", "join", "Stream6",
           "mld_query", "send_ipv6", "Query", "QueryCapture", "decode_query", "mld_state", "wait_mld_state",
           "normal", "ipv6_mac", "ALL_NODES"]

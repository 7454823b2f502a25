# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""What a listener hears on the wire; controller-side, not shipped to hosts by the role.

- :class:`Observer` (sans-I/O): IPv4 datagrams (or, with ``family="ipv6"``, IPv6 packets) and their
  arrival time in, every IGMP (MLD) querier heard, ours or not, aggregated per source, out;
- :func:`receive_until`: the modules' receive loop, whose deadline holds under a flood
  (``igmp_status`` listen, ``igmp_probe`` receive);
- :func:`listen_on`: ``igmp_status``'s capture on a set of interfaces.
"""

from __future__ import annotations

import select
import time
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec_mld, netif, sockets
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.codec import (
    Leave, Malformed, Packet, Query, Report, V3Report, decode_ipv4, ip_key)

#: Datagrams read from one ready socket before the clock is looked at again. Under a flood a
#: socket never runs dry, so a loop that drains it before checking its deadline never ends.
BATCH = 64
IFF_LOOPBACK = 0x8

#: Sources listed at most: the lowest-addressed ones (those that matter for the election). A LAN
#: has a handful of queriers; a flood from spoofed sources must not grow the table or the report.
MAX_SOURCES = 256

IPV4, IPV6 = "ipv4", "ipv6"
#: Per family: the protocol's name, the unspecified source (a switch's proxy query, never
#: elected) and the query version whose General Queries carry QRV and QQIC.
FAMILIES = {IPV4: ("IGMP", "0.0.0.0", 3), IPV6: ("MLD", "::", 2)}


class _Source:
    __slots__ = (
        "source", "version", "versions", "count", "general", "group_specific", "first_seen",
        "last_seen", "last_general", "gaps", "gap_total", "max_resp_tenths", "qrv", "qqi", "own",
        "router_alert", "ttl",
    )

    def __init__(self, source: str, now: float) -> None:
        self.source = source
        self.version = 0
        self.versions: set = set()
        self.count = 0
        self.general = 0
        self.group_specific = 0
        self.first_seen = now
        self.last_seen = now
        self.last_general: Optional[float] = None
        self.gaps = 0
        self.gap_total = 0.0
        self.max_resp_tenths: Optional[int] = None
        self.qrv = 0
        self.qqi = 0
        self.own = False
        self.router_alert = True
        self.ttl = 1


class Observer:
    """Aggregate the queries heard on one interface, per source address.

    ``interval`` is the mean gap between successive General Queries of a source (group-specific
    queries come in bursts after a leave and would distort it); it needs two of them.
    ``max_response`` is what the source's latest General Query advertised (seconds).
    ``family``: ``ipv4`` (IPv4 datagrams carrying IGMP) or ``ipv6`` (IPv6 packets carrying MLD,
    decoded by ``codec_mld``); every entry of :meth:`queriers` names it.
    Beyond :data:`MAX_SOURCES` sources the highest-addressed one is dropped, its queries counted
    in ``unlisted``.
    """

    def __init__(self, max_sources: int = MAX_SOURCES, family: str = IPV4) -> None:
        self.family = family
        self._protocol, self._unspecified, self._qrv_version = FAMILIES[family]
        self._decode = decode_ipv4 if family == IPV4 else codec_mld.decode_ipv6
        self._key = ip_key if family == IPV4 else codec_mld.ip6_key
        self._sources: Dict[str, _Source] = {}
        self._max_sources = max_sources
        self._highest: Optional[str] = None  # highest-addressed source listed, once the table is full
        self.unlisted = 0  # queries from sources not (or no longer) listed
        self.packets = 0  # IGMP datagrams (MLD packets) seen
        self.reports = 0  # membership reports and leaves (any version)
        self.other = 0  # well-formed IGMP that is neither a query nor a report
        self.malformed = 0
        self.last_malformed: Optional[str] = None

    def feed(self, datagram: bytes, now: float, own: bool = False) -> Optional[Query]:
        """Account one IPv4 datagram (IPv6 packet); returns the query it carried, if any."""
        decoded = self._decode(datagram)
        if isinstance(decoded, Malformed):
            self.packets += 1
            self.malformed += 1
            self.last_malformed = decoded.reason
            return None
        return self.add(decoded, now, own)

    def add(self, packet: Packet, now: float, own: bool = False) -> Optional[Query]:
        """Account one decoded packet heard at ``now`` (``own``: this host sent it)."""
        self.packets += 1
        message = packet.message
        if not isinstance(message, Query):
            if isinstance(message, (Report, Leave, V3Report)):
                self.reports += 1
            else:
                self.other += 1
            return None
        entry = self._sources.get(packet.src)
        if entry is None:
            if not self._make_room(packet.src):
                self.unlisted += 1
                return message
            entry = self._sources[packet.src] = _Source(packet.src, now)
        entry.count += 1
        entry.version = message.version
        entry.versions.add(message.version)
        entry.last_seen = now
        entry.own = entry.own or own
        entry.router_alert = packet.router_alert
        entry.ttl = packet.ttl
        if message.is_general:
            entry.general += 1
            if entry.last_general is not None:
                entry.gaps += 1
                entry.gap_total += now - entry.last_general
            entry.last_general = now
            entry.max_resp_tenths = message.max_resp_tenths
            if message.version == self._qrv_version:
                entry.qrv, entry.qqi = message.qrv, message.qqi
        else:
            entry.group_specific += 1
        return message

    def _make_room(self, source: str) -> bool:
        """Room for a new ``source``: False when the table is full of lower addresses."""
        if len(self._sources) < self._max_sources:
            return True
        if self._highest is None:
            self._highest = max(self._sources, key=self._key)
        if self._key(source) >= self._key(self._highest):
            return False
        self.unlisted += self._sources.pop(self._highest).count
        self._highest = None
        return True

    def __len__(self) -> int:
        return len(self._sources)

    def queriers(self, now: float) -> List[Dict[str, Any]]:
        """One entry per source, lowest address (the RFC election winner) first."""
        result = []
        for entry in sorted(self._sources.values(), key=lambda e: self._key(e.source)):
            result.append({
                "source": entry.source,
                "family": self.family,
                "version": entry.version,
                "versions": sorted(entry.versions),
                "count": entry.count,
                "general": entry.general,
                "group_specific": entry.group_specific,
                "interval": round(entry.gap_total / entry.gaps, 3) if entry.gaps else None,
                "max_response": None if entry.max_resp_tenths is None else entry.max_resp_tenths / 10.0,
                "qrv": entry.qrv,
                "qqi": entry.qqi,
                "first_seen": round(entry.first_seen, 3),
                "last_seen": round(entry.last_seen, 3),
                "last_seen_age": round(max(0.0, now - entry.last_seen), 3),
                "own": entry.own,
                "router_alert": entry.router_alert,
                "ttl": entry.ttl,
            })
        return result

    def elected(self) -> Optional[str]:
        """The lowest-addressed source heard (0.0.0.0 or ::, a switch's proxy query, never wins)."""
        candidates = [s for s in self._sources if s != self._unspecified]
        return min(candidates, key=self._key) if candidates else None

    def counters(self) -> Dict[str, Any]:
        return {
            "packets": self.packets,
            "reports": self.reports,
            "other": self.other,
            "malformed": self.malformed,
            "last_malformed": self.last_malformed,
            "unlisted": self.unlisted,
        }


def describe(entry: Dict[str, Any]) -> str:
    """One short human phrase for a querier entry of :meth:`Observer.queriers`."""
    protocol = FAMILIES.get(entry.get("family", IPV4), FAMILIES[IPV4])[0]
    text = "%s %sv%d x%d" % (entry["source"], protocol, entry["version"], entry["count"])
    if entry["interval"] is not None:
        text += " every %.1f s" % entry["interval"]
    if entry["max_response"] is not None:
        text += ", max resp %.1f s" % entry["max_response"]
    if entry["own"]:
        text += " (us)"
    return text


def receive_until(socks: List[Any], seconds: float, receive: Callable[[Any], Optional[Any]],
                  handle: Callable[[Any, Any], None], done: Optional[Callable[[], bool]] = None,
                  clock: Callable[[], float] = time.monotonic, batch: int = BATCH) -> bool:
    """Feed what arrives on ``socks`` to ``handle(sock, got)`` for ``seconds``.

    ``receive(sock)`` returns one datagram (any value) or None when none is waiting. The
    deadline and ``done()`` are checked after every ``batch`` datagrams of a socket, so the
    loop ends within one batch of the deadline however fast datagrams arrive. Returns True
    when ``done()`` ended it, False at the deadline.
    """
    deadline = clock() + seconds
    while socks:
        if done is not None and done():
            return True
        left = deadline - clock()
        if left <= 0:
            return False
        for sock in select.select(socks, [], [], left)[0]:
            for _count in range(batch):
                got = receive(sock)
                if got is None:
                    break
                handle(sock, got)
            if clock() >= deadline or (done is not None and done()):
                break
    return False


def listen_on(names, seconds, mld=True):
    """Capture IGMP (and with ``mld`` MLD) on ``names`` for ``seconds``: {name: (queriers or None,
    counters)}. The queriers of both families are in one list, IGMP first, each with its
    ``family``; ``counters`` are IGMP's, with ``mld`` holding MLD's (or None without ``mld``).
    ``error`` says why an interface (``mld.error``: its MLD side) could not be captured on."""
    observers = {}
    errors = {}
    socks = {}
    try:
        for name in names:
            index = netif.index(name)
            if not index:
                errors[name] = "interface does not exist"
                continue
            try:
                sock = sockets.open_receiver(name, index, outgoing=True)
            except PermissionError:
                errors[name] = "capturing IGMP needs CAP_NET_RAW (run as root: become: true or ansible -b)"
                continue
            except OSError as exc:
                errors[name] = "cannot capture on %s: %s" % (name, exc)
                continue
            socks[sock.fileno()] = (name, sock, is_loopback(name))
            observers[name] = Observer()
            if mld:
                _open_mld(name, index, socks, observers, errors)
        capture(socks, observers, seconds)
    finally:
        for entry in socks.values():
            entry[1].close()
    now = time.time()
    result = {}
    for name in names:
        if name in errors:
            result[name] = (None, {"seconds": float(seconds), "elected": None, "error": errors[name], "mld": None})
            continue
        counters = observers[name].counters()
        counters.update(seconds=float(seconds), elected=observers[name].elected(), error=None, mld=None)
        queriers = observers[name].queriers(now)
        six = observers.get((name, IPV6))
        if six is not None:
            counters["mld"] = dict(six.counters(), elected=six.elected(), error=None)
            queriers += six.queriers(now)
        elif mld:
            counters["mld"] = {"elected": None, "error": errors.get((name, IPV6))}
        result[name] = (queriers, counters)
    return result


def _open_mld(name, index, socks, observers, errors):
    """Add the MLD receiver of ``name``; a failure is an error of its MLD side alone."""
    try:
        sock = sockets.open_receiver6(name, index)
    except OSError as exc:  # IPv6 disabled on the interface, for one
        errors[(name, IPV6)] = "cannot capture MLD on %s: %s" % (name, exc)
        return
    socks[sock.fileno()] = (name, sock, is_loopback(name), (name, IPV6))
    observers[(name, IPV6)] = Observer(family=IPV6)


def _receive(sock):
    try:
        return sockets.receive(sock)
    except OSError:
        return None


def capture(socks, observers, seconds, clock=time.monotonic, wall=time.time):
    """Feed what arrives on ``socks`` ({fd: (name, sock, loopback[, observer key])}) to
    ``observers`` ({key: Observer}, the key is the interface name unless given) for ``seconds``;
    the deadline holds under a flood (checked per batch)."""
    by_sock = {entry[1]: entry for entry in socks.values()}

    def handle(sock, got):
        entry = by_sock[sock]
        if got[1] and entry[2]:
            return  # loopback shows each datagram leaving and again arriving: count it once
        observers[entry[3] if len(entry) > 3 else entry[0]].feed(got[0], wall(), own=got[1])

    receive_until(list(by_sock), seconds, _receive, handle, clock=clock)


def is_loopback(name):
    """Whether ``name`` is a loopback interface (its sent datagrams come back as received)."""
    try:
        with open("/sys/class/net/%s/flags" % name) as handle:
            return bool(int(handle.read().strip(), 16) & IFF_LOOPBACK)
    except (OSError, ValueError):
        return name == "lo"


def default_listen_interfaces():
    """Interfaces that are up with an IPv4 address, loopback aside: where to listen by default."""
    names = []
    for name in netif.interfaces():
        facts = netif.link_state(name)
        if name != "lo" and facts.up and facts.address and not facts.address.startswith("127."):
            names.append(name)
    return names

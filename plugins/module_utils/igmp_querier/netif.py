# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""Interface facts: does it exist, is it up, what is its primary IPv4 address.

Uses netifaces for addresses when it is installed, and the SIOCGIFADDR ioctl otherwise, so
that the modules also work on hosts without it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
from typing import List, NamedTuple, Optional, Tuple

try:
    import netifaces
except ImportError:  # the daemon's hosts have it; the fallback keeps the modules usable
    netifaces = None

SIOCGIFFLAGS = 0x8913
SIOCGIFADDR = 0x8915
IFF_UP = 0x1
IFF_RUNNING = 0x40


class LinkState(NamedTuple):
    exists: bool
    up: bool  # administratively up and lower layer running
    index: int
    address: Optional[str]  # primary IPv4 address
    link_local: Optional[str] = None  # lowest usable IPv6 link-local address (read when asked)
    tentative: bool = False  # a link-local address exists but is not usable yet (DAD) or failed DAD


def interfaces() -> List[str]:
    """The interfaces in this network namespace, sorted."""
    try:
        return sorted(name for _index, name in socket.if_nameindex())
    except OSError:
        return sorted(os.listdir("/sys/class/net")) if os.path.isdir("/sys/class/net") else []


def index(name: str) -> int:
    """Interface index, or 0 when it does not exist."""
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return 0


def _ifreq(name: str, request: int) -> Optional[bytes]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        return fcntl.ioctl(sock.fileno(), request, struct.pack("16s16x", name.encode()[:15]))
    except OSError:
        return None
    finally:
        sock.close()


def is_up(name: str) -> bool:
    reply = _ifreq(name, SIOCGIFFLAGS)
    if reply is None:
        return False
    (flags,) = struct.unpack_from("H", reply, 16)
    return bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)


def ipv4_address(name: str) -> Optional[str]:
    """The interface's primary IPv4 address (the first one the kernel lists), or None."""
    if netifaces is not None:
        try:
            entries = netifaces.ifaddresses(name).get(netifaces.AF_INET) or []
        except ValueError:  # no such interface
            return None
        for entry in entries:
            if entry.get("addr"):
                return entry["addr"]
        return None
    reply = _ifreq(name, SIOCGIFADDR)
    if reply is None:
        return None
    return socket.inet_ntoa(reply[20:24])


def link_state(name: str, ipv6: bool = False) -> LinkState:
    """``ipv6``: also read the IPv6 link-local address (the MLD querier's source)."""
    idx = index(name)
    if not idx:
        return LinkState(False, False, 0, None)
    link_local, tentative = ipv6_link_local(name) if ipv6 else (None, False)
    return LinkState(True, is_up(name), idx, ipv4_address(name), link_local, tentative)


def default_route_interface(routes: str = "/proc/net/route") -> Optional[str]:
    """The interface of the IPv4 default route with the lowest metric, or None."""
    best = None
    try:
        with open(routes) as handle:
            lines = handle.read().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        try:
            name, destination, flags, metric, mask = fields[0], fields[1], int(fields[3], 16), int(fields[6]), fields[7]
        except (IndexError, ValueError):
            continue
        if destination == "00000000" and mask == "00000000" and flags & 0x1 and (best is None or metric < best[0]):
            best = (metric, name)
    return best[1] if best else None


def missing_interface_message(name: str) -> str:
    return "interface %r does not exist; interfaces here: %s" % (name, ", ".join(interfaces()) or "none")


# --- IPv6 link-local address (the source of MLD queries) -----------------------------------
# Read with an rtnetlink address dump: /proc/net/if_inet6 has the flags too, but the role's
# unit hides /proc/net (ProcSubset=pid), and netifaces has no flags (tentative addresses).

IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40
_NETLINK_ROUTE = 0
_RTM_GETADDR = 22
_RTM_NEWADDR = 20
_NLMSG_DONE = 3
_NLMSG_ERROR = 2
_NLM_F_REQUEST_DUMP = 0x1 | 0x300
_IFA_ADDRESS = 1
_IFA_FLAGS = 8
_NLMSG = struct.Struct("=IHHII")  # length, type, flags, sequence, port
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, index
_RTATTR = struct.Struct("=HH")


def parse_addresses(data: bytes, ifindex: int) -> List[Tuple[bytes, int]]:
    """(raw address, flags) of each IPv6 address of ``ifindex`` in rtnetlink RTM_NEWADDR
    messages; stops at NLMSG_DONE. Messages that do not parse end the scan, never raise."""
    found: List[Tuple[bytes, int]] = []
    offset = 0
    while offset + _NLMSG.size <= len(data):
        length, kind = _NLMSG.unpack_from(data, offset)[:2]
        if length < _NLMSG.size or offset + length > len(data) or kind in (_NLMSG_DONE, _NLMSG_ERROR):
            break
        body = offset + _NLMSG.size
        if kind == _RTM_NEWADDR and length >= _NLMSG.size + _IFADDRMSG.size:
            family, _prefix, flags, _scope, index = _IFADDRMSG.unpack_from(data, body)
            address = None
            attr = body + _IFADDRMSG.size
            while attr + _RTATTR.size <= offset + length:
                size, atype = _RTATTR.unpack_from(data, attr)
                if size < _RTATTR.size or attr + size > offset + length:
                    break
                value = data[attr + _RTATTR.size:attr + size]
                if atype == _IFA_ADDRESS and len(value) == 16:
                    address = value
                elif atype == _IFA_FLAGS and len(value) == 4:
                    flags = struct.unpack("=I", value)[0]  # the full flags (the header has 8 bits)
                attr += (size + 3) & ~3
            if family == socket.AF_INET6 and index == ifindex and address is not None:
                found.append((address, flags))
        offset += (length + 3) & ~3
    return found


def choose_link_local(addresses: List[Tuple[bytes, int]]) -> Tuple[Optional[str], bool]:
    """:func:`ipv6_link_local` over (raw address, flags) pairs."""
    usable = []
    pending = False
    for raw, flags in addresses:
        if raw[0] != 0xFE or raw[1] & 0xC0 != 0x80:  # not fe80::/10
            continue
        if flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
            pending = True
        else:
            usable.append(raw)
    if usable:
        return socket.inet_ntop(socket.AF_INET6, min(usable)), False
    return None, pending


def _dump_ipv6_addresses() -> bytes:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_ROUTE)
    try:
        sock.settimeout(2.0)
        request = _IFADDRMSG.pack(socket.AF_INET6, 0, 0, 0, 0)
        sock.send(_NLMSG.pack(_NLMSG.size + len(request), _RTM_GETADDR, _NLM_F_REQUEST_DUMP, 1, 0) + request)
        chunks = []
        while True:
            data = sock.recv(65536)
            chunks.append(data)
            if not data or _NLMSG_DONE in _message_types(data):
                return b"".join(chunks)
    finally:
        sock.close()


def _message_types(data: bytes) -> List[int]:
    kinds, offset = [], 0
    while offset + _NLMSG.size <= len(data):
        length, kind = _NLMSG.unpack_from(data, offset)[:2]
        kinds.append(kind)
        if length < _NLMSG.size:
            break
        offset += (length + 3) & ~3
    return kinds


def ipv6_link_local(name: str) -> Tuple[Optional[str], bool]:
    """(The interface's numerically lowest usable link-local address, or None; whether it has
    none usable only because its link-local addresses are tentative (DAD running) or failed
    DAD). (None, False) when it has none at all, IPv6 is off, or the dump fails."""
    idx = index(name)
    if not idx:
        return None, False
    try:
        return choose_link_local(parse_addresses(_dump_ipv6_addresses(), idx))
    except OSError:
        return None, False

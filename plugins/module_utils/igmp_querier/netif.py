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

IF_INET6 = "/proc/net/if_inet6"
IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40


def parse_if_inet6(text: str, name: str) -> Tuple[Optional[str], bool]:
    """:func:`ipv6_link_local` over the text of /proc/net/if_inet6.

    Each line: 32 hex digits of address, ifindex, prefix length, scope, flags (hex), name.
    Lines that do not parse are skipped.
    """
    usable: List[bytes] = []
    pending = False
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 6 or fields[5] != name or len(fields[0]) != 32:
            continue
        try:
            raw = bytes.fromhex(fields[0])
            flags = int(fields[4], 16)
        except ValueError:
            continue
        if raw[0] != 0xFE or raw[1] & 0xC0 != 0x80:  # not fe80::/10
            continue
        if flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
            pending = True
        else:
            usable.append(raw)
    if usable:
        return socket.inet_ntop(socket.AF_INET6, min(usable)), False
    return None, pending


def ipv6_link_local(name: str) -> Tuple[Optional[str], bool]:
    """(The interface's numerically lowest usable link-local address, or None; whether it has
    none usable only because its link-local addresses are tentative (DAD running) or failed
    DAD). (None, False) when it has none at all, or IPv6 is off (the file is then missing)."""
    try:
        with open(IF_INET6) as handle:
            text = handle.read()
    except OSError:
        return None, False
    return parse_if_inet6(text, name)

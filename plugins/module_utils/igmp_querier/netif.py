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
from typing import List, NamedTuple, Optional

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


def link_state(name: str) -> LinkState:
    idx = index(name)
    if not idx:
        return LinkState(False, False, 0, None)
    return LinkState(True, is_up(name), idx, ipv4_address(name))


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

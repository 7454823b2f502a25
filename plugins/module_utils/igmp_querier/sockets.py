# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The querier's sockets, all stdlib.

- send: a raw ``IPPROTO_IGMP`` socket with TTL 1, ToS 0xc0 and the Router Alert option, bound
  to the interface and its address (the source of our queries). With IP_RECVERR, a query that
  the egress queue drops fails with ENOBUFS instead of vanishing (raw sockets report local
  drops only then), so only queries that left are counted as sent;
- receive: an ``AF_PACKET`` socket on the interface with a BPF filter for IP protocol 2 and
  all-multicast membership. A raw IGMP socket would not do: the IP stack drops IGMPv2 reports
  for groups this host has not joined before raw delivery, and we want the whole group table;
- notify: an rtnetlink socket that wakes the event loop on link and IPv4 address changes.

Opening the first two needs CAP_NET_RAW (:class:`PermissionError` otherwise).
"""

from __future__ import annotations

import array
import socket
import struct
from typing import Optional, Set, Tuple

from .codec import ROUTER_ALERT, TOS_INTERNETWORK_CONTROL

ETH_P_IP = 0x0800
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_ALLMULTI = 2
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_BINDTODEVICE = 25
IP_RECVERR = 11  # Linux; not in every Python's socket module
RECEIVE_BUFFER = 1 << 20

NETLINK_ROUTE = 0
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR = 16, 17, 20, 21

# Classic BPF, run on the IP header (SOCK_DGRAM packet sockets strip the link header).
_BPF_IGMP_ONLY = [
    (0x30, 0, 0, 9),  # ldb [9]            IP protocol
    (0x15, 0, 1, 2),  # jeq #2, accept, drop
    (0x06, 0, 0, 0x40000),  # ret #262144
    (0x06, 0, 0, 0),  # ret #0
]
_BPF_DROP_ALL = [(0x06, 0, 0, 0)]
# The same for a socket bound to every protocol (ETH_P_ALL): first check that it is IPv4.
_BPF_IPV4_IGMP_ONLY = [
    (0x28, 0, 0, 0xFFFFF000),  # ldh skb->protocol (SKF_AD_OFF + SKF_AD_PROTOCOL)
    (0x15, 0, 3, ETH_P_IP),  # jeq #0x0800, next, drop
    (0x30, 0, 0, 9),  # ldb [9]            IP protocol
    (0x15, 0, 1, 2),  # jeq #2, accept, drop
    (0x06, 0, 0, 0x40000),  # ret #262144
    (0x06, 0, 0, 0),  # ret #0
]


def attach_filter(sock: socket.socket, program) -> None:
    """Attach a classic BPF program (a list of (code, jt, jf, k)) to ``sock``."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buf = array.array("B", code)
    address = buf.buffer_info()[0]
    fprog = struct.pack("HL", len(program), address)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def open_receiver(interface: str, ifindex: int, outgoing: bool = False) -> socket.socket:
    """An AF_PACKET socket that sees every IGMP frame arriving on ``interface``.

    With ``outgoing``, also the frames this host sends (flagged by :func:`receive`): the kernel
    shows transmitted frames only to packet sockets bound to every protocol (ETH_P_ALL). On
    loopback such a socket sees each datagram twice, leaving and arriving.
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)  # protocol 0: receives nothing yet
    try:
        attach_filter(sock, _BPF_IPV4_IGMP_ONLY if outgoing else _BPF_IGMP_ONLY)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.bind((interface, ETH_P_ALL if outgoing else ETH_P_IP))
        mreq = struct.pack("iHH8s", ifindex, PACKET_MR_ALLMULTI, 0, b"")
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def receive(sock: socket.socket) -> Optional[Tuple[bytes, bool]]:
    """One frame from a receiver: (IP datagram, sent by this host); None when none is waiting."""
    try:
        data, address = sock.recvfrom(65535)
    except (BlockingIOError, InterruptedError):
        return None
    return data, address[2] == PACKET_OUTGOING


def open_sender(interface: str, ifindex: int, source: str) -> socket.socket:
    """A raw IGMP socket whose datagrams leave ``interface`` from ``source``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    try:
        attach_filter(sock, _BPF_DROP_ALL)  # send-only: never queue copies of received IGMP
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, interface.encode())
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ROUTER_ALERT)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, TOS_INTERNETWORK_CONTROL)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)  # qdisc drops -> ENOBUFS (see above)
        mreqn = struct.pack("4s4si", socket.inet_aton("0.0.0.0"), socket.inet_aton(source), ifindex)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
        sock.bind((source, 0))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def check_raw() -> None:
    """Raise PermissionError now when this process may not open raw sockets (no CAP_NET_RAW)."""
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP).close()


def open_netlink() -> socket.socket:
    """An rtnetlink socket subscribed to link and IPv4 address changes."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    try:
        sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def drain_netlink(sock: socket.socket) -> Set[int]:
    """Read every pending rtnetlink message; return the interface indexes they concern.

    An overflow (ENOBUFS) returns {0}: something changed, recheck everything.
    """
    indexes: Set[int] = set()
    while True:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return indexes
        except OSError:  # ENOBUFS: we missed messages
            indexes.add(0)
            continue
        if not data:
            return indexes
        offset = 0
        while offset + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, offset)
            if length < 16:
                break
            body = offset + 16
            if kind in (RTM_NEWLINK, RTM_DELLINK) and body + 8 <= len(data):
                indexes.add(struct.unpack_from("=i", data, body + 4)[0])
            elif kind in (RTM_NEWADDR, RTM_DELADDR) and body + 8 <= len(data):
                indexes.add(struct.unpack_from("=I", data, body + 4)[0])
            offset += (length + 3) & ~3

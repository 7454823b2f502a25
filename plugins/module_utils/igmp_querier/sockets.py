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
from .codec_mld import ROUTER_ALERT_HOPOPTS

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
    """An rtnetlink socket subscribed to link, IPv4 and IPv6 address changes (an IPv6 address is
    announced again when duplicate address detection ends)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    try:
        sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
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


# --- MLD (IPv6): the same pair of sockets for ICMPv6 ----------------------------------------

ETH_P_IPV6 = 0x86DD
IPV6_HOPOPTS = 54  # Linux values; not every Python's socket module has them
IPV6_RECVERR = 25
IPV6_TCLASS = 67
#: Also wake on IPv6 address changes (a link-local address appearing, leaving DAD, changing).
RTMGRP_IPV6_IFADDR = 0x100

# Classic BPF on the IPv6 header: MLD (ICMPv6 130/131/132/143) right after the IPv6 header or
# after one Hop-by-Hop header (how MLD travels); everything else is dropped in the kernel.
_BPF_MLD_ONLY = [
    (0x30, 0, 0, 6),  # 0: ldb [6]            next header
    (0x15, 8, 0, 58),  # 1: jeq #58, 10, next  ICMPv6 without extension headers
    (0x15, 0, 14, 0),  # 2: jeq #0, next, drop  Hop-by-Hop
    (0x30, 0, 0, 40),  # 3: ldb [40]           Hop-by-Hop's next header
    (0x15, 0, 12, 58),  # 4: jeq #58, next, drop
    (0x30, 0, 0, 41),  # 5: ldb [41]           Hop-by-Hop length, 8-octet units after the first
    (0x64, 0, 0, 3),  # 6: lsh #3
    (0x04, 0, 0, 48),  # 7: add #48            offset of ICMPv6: 40 + (len + 1) * 8
    (0x07, 0, 0, 0),  # 8: tax
    (0x05, 0, 0, 1),  # 9: ja 11
    (0x01, 0, 0, 40),  # 10: ldx #40
    (0x50, 0, 0, 0),  # 11: ldb [x + 0]        ICMPv6 type
    (0x15, 3, 0, 130),  # 12: jeq #130, accept
    (0x15, 2, 0, 131),  # 13: jeq #131, accept
    (0x15, 1, 0, 132),  # 14: jeq #132, accept
    (0x15, 0, 1, 143),  # 15: jeq #143, accept, drop
    (0x06, 0, 0, 0x40000),  # 16: accept: ret #262144
    (0x06, 0, 0, 0),  # 17: drop: ret #0
]


def open_receiver6(interface: str, ifindex: int) -> socket.socket:
    """An AF_PACKET socket that sees every MLD frame arriving on ``interface`` (all-multicast, so
    also reports for groups this host never joined); :func:`receive` reads it."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)  # protocol 0: receives nothing yet
    try:
        attach_filter(sock, _BPF_MLD_ONLY)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.bind((interface, ETH_P_IPV6))
        mreq = struct.pack("iHH8s", ifindex, PACKET_MR_ALLMULTI, 0, b"")
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def open_sender6(interface: str, ifindex: int, source: str) -> socket.socket:
    """A raw ICMPv6 socket whose messages leave ``interface`` from the link-local ``source``
    with Hop Limit 1, the Hop-by-Hop Router Alert (MLD) and traffic class 0xc0; the kernel
    computes the ICMPv6 checksum. Send with ``sendto(data, (destination, 0, 0, ifindex))``."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        attach_filter(sock, _BPF_DROP_ALL)  # send-only: never queue copies of received ICMPv6
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, interface.encode())
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_HOPOPTS, ROUTER_ALERT_HOPOPTS)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, TOS_INTERNETWORK_CONTROL)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)  # qdisc drops -> ENOBUFS (see above)
        sock.bind((source, 0, 0, ifindex))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def check_raw6() -> None:
    """Raise PermissionError now when this process may not open raw ICMPv6 sockets (no
    CAP_NET_RAW); OSError (EAFNOSUPPORT) when the kernel has no IPv6."""
    socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6).close()

"""IPv6 on the lab's hosts for the MLD socket tests (test_mld_sockets_netns.py); kept small, the
MLD namespace tests' own helpers live in lab6.py.

lab.py turns IPv6 off in every namespace; :func:`enable_ipv6` turns it on again on a host's
interface with one link-local address of the test's choosing (``addrgenmode none``), usable at
once (``nodad``) or left to duplicate address detection (``dad=True``).
"""

from __future__ import annotations

import socket

from tests.netns import lab as netlab

ETH_P_IPV6 = 0x86DD


def enable_ipv6(host: "netlab.Host", link_local: str, dad: bool = False) -> None:
    host.ip("link", "set", host.ifname, "addrgenmode", "none")  # no EUI-64 address of the kernel's own
    host.sysctl("net.ipv6.conf.%s.accept_dad" % host.ifname, 1 if dad else 0)
    host.sysctl("net.ipv6.conf.%s.disable_ipv6" % host.ifname, 0)
    add_link_local(host, link_local, dad)


def add_link_local(host: "netlab.Host", address: str, dad: bool = False) -> None:
    host.ip("addr", "add", "%s/64" % address, "dev", host.ifname, *(() if dad else ("nodad",)))


def ipv6_mac(group: str) -> bytes:
    """Ethernet destination of an IPv6 multicast address: 33:33 and its low 32 bits (RFC 2464)."""
    return b"\x33\x33" + socket.inet_pton(socket.AF_INET6, group)[-4:]


def send_frame6(host: "netlab.Host", packet: bytes, dst: str) -> None:
    """Send a complete IPv6 packet (built by the test) out of the host's interface."""
    with netlab.netns(host.ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        try:
            sock.sendto(packet, (host.ifname, ETH_P_IPV6, 0, 0, ipv6_mac(dst)))
        finally:
            sock.close()

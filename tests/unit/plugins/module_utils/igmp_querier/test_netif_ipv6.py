"""The MLD querier's source: the interface's usable IPv6 link-local address, from an rtnetlink
dump (the role's unit hides /proc/net, which the test reads as the oracle)."""

import os
import socket
import struct

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import netif


def message(address, index, flags=0, extended=None, family=socket.AF_INET6):
    attrs = struct.pack("=HH", 20, 1) + socket.inet_pton(socket.AF_INET6, address)
    if extended is not None:
        attrs += struct.pack("=HHI", 8, 8, extended)
    body = struct.pack("=BBBBI", family, 64, flags & 0xFF, 253, index) + attrs
    return struct.pack("=IHHII", 16 + len(body), 20, 2, 1, 0) + body


DONE = struct.pack("=IHHIIi", 20, 3, 2, 1, 0, 0)


def test_the_lowest_usable_link_local_of_the_interface_wins():
    dump = (message("fe80::100", 3) + message("fe80::9", 3) + message("fe80::1", 4) + message("2001:db8::1", 3)
            + message("fe80::5", 3, flags=netif.IFA_F_TENTATIVE) + DONE)
    assert netif.choose_link_local(netif.parse_addresses(dump, 3)) == ("fe80::9", False)


def test_only_tentative_or_dad_failed_link_locals_mean_waiting():
    for flags in (netif.IFA_F_TENTATIVE, netif.IFA_F_DADFAILED):
        assert netif.choose_link_local(netif.parse_addresses(message("fe80::5", 3, flags=flags) + DONE, 3)) == \
            (None, True)
    assert netif.choose_link_local(netif.parse_addresses(message("2001:db8::5", 3) + DONE, 3)) == (None, False)


def test_the_32_bit_flags_attribute_overrides_the_header_byte():
    dump = message("fe80::5", 3, flags=0, extended=netif.IFA_F_TENTATIVE) + DONE
    assert netif.choose_link_local(netif.parse_addresses(dump, 3)) == (None, True)


@pytest.mark.parametrize("cut", [0, 5, 16, 23, 30, 44])
def test_truncated_or_hostile_dumps_never_raise(cut):
    dump = message("fe80::5", 3)
    assert netif.parse_addresses(dump[:cut], 3) in ([], [(socket.inet_pton(socket.AF_INET6, "fe80::5"), 0)])
    assert netif.parse_addresses(struct.pack("=IHHII", 8, 20, 0, 0, 0) + dump, 3) == []  # length below a header


def _proc_link_locals():
    found = {}
    with open("/proc/net/if_inet6") as handle:
        for line in handle:
            raw, _index, _prefix, _scope, flags, name = line.split()
            address = bytes.fromhex(raw)
            if address[:2] == b"\xfe\x80":
                found.setdefault(name, []).append((address, int(flags, 16)))
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/if_inet6"), reason="IPv6 is off on this machine")
def test_the_real_dump_agrees_with_proc_net_if_inet6():
    expected = _proc_link_locals()
    names = netif.interfaces()
    assert names
    for name in names:
        assert netif.ipv6_link_local(name) == netif.choose_link_local(expected.get(name, [])), name
    assert netif.ipv6_link_local("no-such-if0") == (None, False)

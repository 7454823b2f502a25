"""netif.ipv6_link_local: the MLD source address, read from /proc/net/if_inet6 sample text."""

import os

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import netif

# address, ifindex, prefix length, scope (0x20 link), flags (0x80 permanent, 0x40 tentative,
# 0x08 DAD failed, 0x20 deprecated), name: the layout the kernel prints
SAMPLE = """\
00000000000000000000000000000001 01 80 10 80       lo
fe800000000000000000000000000100 02 40 20 80     eth0
fe800000000000000000000000000010 02 40 20 80     eth0
fe800000000000000000000000000009 02 40 20 80     eth0
20010db8000000000000000000000001 02 40 00 00     eth0
fe80000000000000000000000000000a 03 40 20 c0     eth1
fe80000000000000000000000000000b 04 40 20 88     eth2
fe80000000000000000000000000000c 05 40 20 40   br-lan
fe800000000000000000000000000001 05 40 20 80   br-lan
20010db8000000000000000000000005 06 40 00 40     eth3
fe80000000000000000000000000000d 07 40 20 a0    vlan7
"""


def test_the_numerically_lowest_usable_link_local_address():
    # fe80::9 < fe80::10 < fe80::100 numerically; as strings fe80::10 would come first
    assert netif.parse_if_inet6(SAMPLE, "eth0") == ("fe80::9", False)


def test_tentative_or_dad_failed_only_is_pending():
    assert netif.parse_if_inet6(SAMPLE, "eth1") == (None, True)  # tentative: DAD still running
    assert netif.parse_if_inet6(SAMPLE, "eth2") == (None, True)  # DAD failed


def test_a_usable_address_wins_over_a_lower_tentative_one():
    assert netif.parse_if_inet6(SAMPLE, "br-lan") == ("fe80::1", False)


def test_no_link_local_at_all():
    assert netif.parse_if_inet6(SAMPLE, "eth3") == (None, False)  # a tentative global address does not count
    assert netif.parse_if_inet6(SAMPLE, "lo") == (None, False)
    assert netif.parse_if_inet6(SAMPLE, "wlan0") == (None, False)
    assert netif.parse_if_inet6("", "eth0") == (None, False)


def test_a_deprecated_link_local_is_still_usable():
    assert netif.parse_if_inet6(SAMPLE, "vlan7") == ("fe80::d", False)


def test_names_match_exactly():
    assert netif.parse_if_inet6(SAMPLE, "eth") == (None, False)
    assert netif.parse_if_inet6(SAMPLE, "br-la") == (None, False)


def test_long_flag_fields_and_garbage_lines():
    text = "\n".join([
        "fe800000000000000000000000000007 02 40 20 00000080 eth0",  # newer kernels: wider flags
        "fe80000000000000000000000000000g 02 40 20 80 eth0",  # not hex
        "fe8000000000000000000000000001 02 40 20 80 eth0",  # 30 digits
        "fe800000000000000000000000000002 02 40 20 zz eth0",  # flags not hex
        "fe800000000000000000000000000003 02 40 20 80",  # no name
        "fe800000000000000000000000000004 02 40 20 80 eth0 extra",
        "\x00\xff garbage",
    ])
    assert netif.parse_if_inet6(text, "eth0") == ("fe80::7", False)


def test_febf_is_link_local_fec0_is_not():
    text = ("fec00000000000000000000000000001 02 40 40 80 eth0\n"
            "febf0000000000000000000000000001 02 40 20 80 eth0\n")
    assert netif.parse_if_inet6(text, "eth0") == ("febf::1", False)


def test_reads_this_hosts_file_or_says_none(monkeypatch, tmp_path):
    result = netif.ipv6_link_local("lo")
    assert result == (None, False)  # loopback has ::1 only
    sample = tmp_path / "if_inet6"
    sample.write_text(SAMPLE)
    monkeypatch.setattr(netif, "IF_INET6", str(sample))
    assert netif.ipv6_link_local("eth0") == ("fe80::9", False)
    monkeypatch.setattr(netif, "IF_INET6", os.path.join(str(tmp_path), "missing"))  # IPv6 disabled
    assert netif.ipv6_link_local("eth0") == (None, False)

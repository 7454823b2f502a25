"""igmp_probe with an IPv6 group: the options, through main() with real module arguments.

Loopback carries no IPv6 multicast (Linux has no route for it there), so the delivery itself is
proven across a real veth and bridge in tests/netns/test_modules_mld_netns.py; here the checks
that run before a socket is opened, check mode, and the helpers that read /proc/net/if_inet6.
"""

import functools

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils import probe
from ansible_collections.multicast.igmp.plugins.modules import igmp_probe
from tests.helpers import run_module as run_main, warnings_of

run_module = functools.partial(run_main, igmp_probe.main)
GROUP_RULE = "group must be a multicast address, IPv4 (224.0.0.0/4) or IPv6 (ff00::/8)"
SEND6 = dict(mode="send", group="ff05::4242", interface="lo")
IF_INET6 = """00000000000000000000000000000001 01 80 10 80       lo
fe800000000000000000000000000009 02 40 20 80     eth0
20010db8000000000000000000000009 02 40 00 80     eth0
"""


@pytest.mark.parametrize("args, message", [
    (dict(SEND6, group="2001:db8::1"), "%s, got 2001:db8::1" % GROUP_RULE),
    (dict(SEND6, group="ff05::zz"), "%s, got 'ff05::zz'" % GROUP_RULE),
    (dict(SEND6, group="ff02::1%lo"), "group must be an address without a %scope, got 'ff02::1%lo': set interface instead"),
    (dict(SEND6, group="ff01::1"), "group ff01::1 has scope 1 (interface-local): it never leaves this host"),
    (dict(SEND6, group="ff00::1"), "group ff00::1 has scope 0 (reserved)"),
    (dict(SEND6, interface=None, group="ff02::4242"),
     "group ff02::4242 is link-scope (ff02::/16): set interface, the link to send it on"),
    (dict(SEND6, payload_size=8953), "payload_size must be 56 (the probe header) to 8952 octets for IPv6, got 8953"),
    (dict(SEND6, ttl=0), "ttl must be 1..255, got 0"),
    (dict(SEND6, interface=None, source="10.0.0.1"),
     "source must be a unicast IPv6 address of this host for an IPv6 group, got '10.0.0.1'"),
    (dict(SEND6, interface=None, source="ff05::1"),
     "source must be a unicast IPv6 address of this host for an IPv6 group, got 'ff05::1'"),
    (dict(SEND6, interface=None, source="fe80::9"),
     "source fe80::9 is link-local: set interface instead (a link-local address belongs to one link)"),
    (dict(SEND6, interface=None, source="2001:db8::dead:beef"),
     "source 2001:db8::dead:beef is not an IPv6 address of this host"),
    (dict(mode="send", group="239.1.2.3", source="fd00::1"), "source must be a unicast IPv4 address of this host, got 'fd00::1'"),
])
def test_bad_ipv6_options_fail_clearly(capsys, args, message):
    rc, out = run_module(capsys, **{k: v for k, v in args.items() if v is not None})
    assert rc == 1 and out["failed"] is True
    assert message in out["msg"], out["msg"]


def test_link_scope_group_receive_needs_no_interface_option_to_validate():
    # a receiver joins on the default route's interface when none is named, so only send insists
    params = dict(mode="receive", group="ff02::4242", port=59559, count=None, interval=None, duration=None, ttl=None,
                  interface=None, source=None, payload_size=None, probe_id=None)
    assert igmp_probe.validate(params) == []


def test_ipv6_payload_of_8952_octets_is_accepted(capsys):
    rc, out = run_module(capsys, _ansible_check_mode=True, payload_size=probe.MAX_PAYLOAD_SIZE6, **SEND6)
    assert rc == 0 and out["payload_size"] == 8952


def test_check_mode_plan_names_the_group_in_brackets_and_the_hop_limit(capsys):
    rc, out = run_module(capsys, _ansible_check_mode=True, count=3, ttl=4, probe_id="v6", port=4242, **SEND6)
    assert rc == 0 and out["sent"] == 0 and out["ttl"] == 4
    assert out["msg"] == "check mode: sent nothing; would send 3 probes to [ff05::4242]:4242 on lo (id v6, every 0.1 s, hop limit 4)"


def test_all_nodes_group_warns_that_it_proves_nothing(capsys):
    rc, out = run_module(capsys, _ansible_check_mode=True, **dict(SEND6, group="ff02::1"))
    assert rc == 0
    assert any("all-nodes" in w and "ff05::4242" in w for w in warnings_of(out))


def test_link_scope_groups_other_than_all_nodes_do_not_warn(capsys):
    rc, out = run_module(capsys, _ansible_check_mode=True, **dict(SEND6, group="ff02::4242"))
    assert rc == 0 and not warnings_of(out)


def test_interface_of_an_ipv6_address_from_if_inet6(tmp_path):
    path = tmp_path / "if_inet6"
    path.write_text(IF_INET6)
    assert igmp_probe.interface_of_ipv6("2001:db8::9", str(path)) == "eth0"
    assert igmp_probe.interface_of_ipv6("::1", str(path)) == "lo"
    assert igmp_probe.interface_of_ipv6("2001:db8::10", str(path)) is None
    assert igmp_probe.interface_of_ipv6("2001:db8::9", str(tmp_path / "missing")) is None  # IPv6 off


def test_ipv6_scope_and_family():
    assert [igmp_probe.ipv6_scope(g) for g in ("ff02::1", "ff05::1", "ff0e::1", "ff12::1")] == [2, 5, 14, 2]
    assert igmp_probe.is_link_local_group("ff02::1") and not igmp_probe.is_link_local_group("ff02::2:1")
    assert igmp_probe.is_link_local_group("224.0.0.251") and not igmp_probe.is_link_local_group("239.1.2.3")


def test_receive_stats_list_ipv4_then_ipv6_sources_numerically():
    stats = probe.ReceiveStats()
    for n, source in enumerate(("fe80::100", "fe80::9", "10.0.0.10", "fe80::10", "10.0.0.9")):
        stats.add(probe.encode("ids", n, 5, 1.0), source, 2.0)
    assert stats.summary()["sources"] == ["10.0.0.9", "10.0.0.10", "fe80::9", "fe80::10", "fe80::100"]

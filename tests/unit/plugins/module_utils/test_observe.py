"""observe.Observer: the per-source aggregation of queries heard on the wire (igmp_status listen).

Wire bytes come from scapy (the independent encoder) and from our codec, fed with explicit times.
"""

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils import observe
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec

sc = pytest.importorskip("scapy.layers.igmp", reason="scapy is the independent encoder of the wire bytes")
inet = pytest.importorskip("scapy.layers.inet")
IP = inet.IP

A, B, C = "10.0.0.9", "10.0.0.10", "10.0.0.100"


def v2_query(src, mrcode=100, group="0.0.0.0"):
    return bytes(IP(src=src, dst=group if group != "0.0.0.0" else "224.0.0.1", ttl=1, options=[inet.IPOption_Router_Alert()])
                 / sc.IGMP_MQ(mrcode=mrcode, gaddr=group))


def v3_query(src, mrcode=100, qrv=2, qqic=125):
    return bytes(IP(src=src, dst="224.0.0.1", ttl=1) / sc.IGMPv3_MQ(mrcode=mrcode, qrv=qrv, qqic=qqic))


def test_interval_is_the_mean_gap_between_general_queries():
    obs = observe.Observer()
    for when in (100.0, 160.0, 221.0):
        assert isinstance(obs.feed(v2_query(A), when), codec.Query)
    (entry,) = obs.queriers(now=230.0)
    assert entry["source"] == A
    assert entry["version"] == 2 and entry["versions"] == [2]
    assert entry["count"] == 3 and entry["general"] == 3 and entry["group_specific"] == 0
    assert entry["interval"] == pytest.approx(60.5)
    assert entry["max_response"] == 10.0
    assert entry["first_seen"] == 100.0 and entry["last_seen"] == 221.0
    assert entry["last_seen_age"] == pytest.approx(9.0)
    assert entry["router_alert"] is True and entry["ttl"] == 1
    assert entry["own"] is False


def test_one_query_has_no_interval():
    obs = observe.Observer()
    obs.feed(v2_query(A, mrcode=50), 5.0)
    (entry,) = obs.queriers(now=5.0)
    assert entry["interval"] is None
    assert entry["max_response"] == 5.0


def test_group_specific_queries_are_counted_but_do_not_shorten_the_interval():
    obs = observe.Observer()
    obs.feed(v2_query(A), 0.0)
    obs.feed(v2_query(A, mrcode=10, group="239.1.2.3"), 30.0)
    obs.feed(v2_query(A, mrcode=10, group="239.1.2.3"), 31.0)
    obs.feed(v2_query(A), 60.0)
    (entry,) = obs.queriers(now=60.0)
    assert entry["count"] == 4
    assert entry["general"] == 2 and entry["group_specific"] == 2
    assert entry["interval"] == 60.0
    assert entry["max_response"] == 10.0  # the general query's, not the group-specific 1.0 s


def test_sources_are_listed_lowest_address_first_and_the_lowest_is_elected():
    obs = observe.Observer()
    obs.feed(v2_query(C), 1.0)
    obs.feed(v2_query("0.0.0.0"), 1.5)  # a snooping switch's proxy query: listed, never elected
    obs.feed(v3_query(B, qrv=3, qqic=20), 2.0)
    obs.feed(v2_query(A), 3.0)
    assert [e["source"] for e in obs.queriers(now=3.0)] == ["0.0.0.0", A, B, C]
    assert obs.elected() == A
    v3 = obs.queriers(now=3.0)[2]
    assert (v3["version"], v3["qrv"], v3["qqi"], v3["max_response"]) == (3, 3, 20, 10.0)


def test_mixed_versions_from_one_source():
    obs = observe.Observer()
    obs.feed(v3_query(A), 0.0)
    obs.feed(v2_query(A), 10.0)
    obs.feed(bytes(IP(src=A, dst="224.0.0.1") / sc.IGMP_MQ(mrcode=0)), 20.0)  # IGMPv1
    (entry,) = obs.queriers(now=20.0)
    assert entry["version"] == 1
    assert entry["versions"] == [1, 2, 3]
    assert entry["max_response"] == 0.0


def test_own_queries_are_marked():
    obs = observe.Observer()
    ours = codec.encode_ipv4(A, codec.ALL_HOSTS, codec.encode_query_v2(100))
    obs.feed(ours, 1.0, own=True)
    obs.feed(ours, 2.0, own=False)
    (entry,) = obs.queriers(now=2.0)
    assert entry["own"] is True
    assert entry["count"] == 2


def test_reports_malformed_and_other_messages_are_counted_not_listed():
    obs = observe.Observer()
    assert obs.feed(bytes(IP(src=B, dst="239.1.2.3") / sc.IGMPv2_MR(gaddr="239.1.2.3")), 1.0) is None
    assert obs.feed(bytes(IP(src=B, dst="224.0.0.2") / sc.IGMPv2_LG(gaddr="239.1.2.3")), 1.1) is None
    assert obs.feed(codec.encode_ipv4(B, "224.0.0.22", codec.encode_report_v3([])), 1.2) is None
    broken = bytearray(v2_query(A))
    broken[-1] ^= 0xFF  # IGMP checksum no longer adds up
    assert obs.feed(bytes(broken), 2.0) is None
    assert obs.feed(b"\x45\x00", 2.1) is None
    unknown = codec.encode_ipv4(B, codec.ALL_HOSTS, codec._finish(bytearray(b"\x13\x00\x00\x00\x00\x00\x00\x00")))
    assert obs.feed(unknown, 3.0) is None
    assert len(obs) == 0 and obs.queriers(now=3.0) == [] and obs.elected() is None
    counters = obs.counters()
    assert counters["packets"] == 6
    assert counters["reports"] == 3
    assert counters["malformed"] == 2
    assert counters["other"] == 1
    assert counters["last_malformed"].startswith("truncated")


def test_describe_is_one_short_phrase():
    obs = observe.Observer()
    obs.feed(v2_query(A), 0.0, own=True)
    obs.feed(v2_query(A), 2.0, own=True)
    assert observe.describe(obs.queriers(now=2.0)[0]) == "10.0.0.9 IGMPv2 x2 every 2.0 s, max resp 10.0 s (us)"
    single = observe.Observer()
    single.feed(v2_query(B), 0.0)
    assert observe.describe(single.queriers(now=0.0)[0]) == "10.0.0.10 IGMPv2 x1, max resp 10.0 s"


def test_a_flood_of_spoofed_sources_keeps_the_table_bounded_and_the_lowest_listed():
    import random
    obs = observe.Observer()
    sources = ["10.1.%d.%d" % (n // 250, 1 + n % 250) for n in range(2000)]
    random.Random(8).shuffle(sources)
    for n, src in enumerate(sources):
        obs.feed(codec.encode_ipv4(src, codec.ALL_HOSTS, codec.encode_query_v2(100)), 1.0 + n * 0.001)
    obs.feed(codec.encode_ipv4(A, codec.ALL_HOSTS, codec.encode_query_v2(100)), 5.0)  # the real querier, last
    listed = [q["source"] for q in obs.queriers(now=5.0)]
    assert len(obs) == observe.MAX_SOURCES == len(listed)
    assert listed == [A] + sorted(sources, key=codec.ip_key)[:observe.MAX_SOURCES - 1]
    assert obs.elected() == A
    assert obs.counters()["unlisted"] == 2001 - observe.MAX_SOURCES
    assert obs.counters()["packets"] == 2001


# --- MLD (family ipv6): scapy builds the packets, the MLD codec decodes them ---------------------
def mld_query(src, version=2, mrd=10000, group="::", qrv=2, qqic=125):
    inet6 = pytest.importorskip("scapy.layers.inet6")
    dst = "ff02::1" if group == "::" else group
    hbh = inet6.IPv6ExtHdrHopByHop(options=[inet6.RouterAlert(value=0)])
    if version == 1:
        mld = inet6.ICMPv6MLQuery(mrd=mrd, mladdr=group)
    else:
        mld = inet6.ICMPv6MLQuery2(mrd=mrd, mladdr=group, QRV=qrv, QQIC=qqic)
    return bytes(inet6.IPv6(src=src, dst=dst, hlim=1) / hbh / mld)


def test_mld_queriers_lowest_address_first_by_number_not_text():
    obs = observe.Observer(family=observe.IPV6)
    for when, source in ((1.0, "fe80::100"), (2.0, "fe80::9"), (3.0, "fe80::10"), (4.0, "fe80::9")):
        assert isinstance(obs.feed(mld_query(source), when), codec.Query)
    entries = obs.queriers(now=5.0)
    assert [e["source"] for e in entries] == ["fe80::9", "fe80::10", "fe80::100"]
    assert obs.elected() == "fe80::9"
    first = entries[0]
    assert first["family"] == "ipv6" and first["version"] == 2 and first["count"] == 2
    assert first["interval"] == 2.0 and first["max_response"] == 10.0
    assert (first["qrv"], first["qqi"]) == (2, 125)
    assert first["router_alert"] is True and first["ttl"] == 1
    assert observe.describe(first) == "fe80::9 MLDv2 x2 every 2.0 s, max resp 10.0 s"


def test_mldv1_query_and_address_specific_query():
    obs = observe.Observer(family=observe.IPV6)
    obs.feed(mld_query("fe80::9", version=1, mrd=5000), 10.0)
    obs.feed(mld_query("fe80::9", version=1, mrd=1000, group="ff05::1:3"), 11.0)
    (entry,) = obs.queriers(now=12.0)
    assert entry["version"] == 1 and entry["versions"] == [1]
    assert entry["general"] == 1 and entry["group_specific"] == 1
    assert entry["max_response"] == 5.0 and (entry["qrv"], entry["qqi"]) == (0, 0)


def test_mld_reports_done_and_garbage_are_counted_not_listed():
    inet6 = pytest.importorskip("scapy.layers.inet6")
    obs = observe.Observer(family=observe.IPV6)
    hbh = inet6.IPv6ExtHdrHopByHop(options=[inet6.RouterAlert(value=0)])
    report = inet6.IPv6(src="fe80::20", dst="ff05::1:3", hlim=1) / hbh / inet6.ICMPv6MLReport(mladdr="ff05::1:3")
    done = inet6.IPv6(src="fe80::20", dst="ff02::2", hlim=1) / hbh / inet6.ICMPv6MLDone(mladdr="ff05::1:3")
    assert obs.feed(bytes(report), 1.0) is None and obs.feed(bytes(done), 2.0) is None
    assert obs.feed(b"\x60\x00garbage", 3.0) is None
    assert obs.feed(v2_query(A), 4.0) is None  # an IPv4 datagram is not an IPv6 packet
    counters = obs.counters()
    assert counters["reports"] == 2 and counters["malformed"] == 2 and counters["packets"] == 4
    assert len(obs) == 0 and obs.elected() is None


def test_mld_unspecified_source_is_listed_but_never_elected():
    obs = observe.Observer(family=observe.IPV6)
    obs.feed(mld_query("::"), 1.0)
    assert [e["source"] for e in obs.queriers(now=1.0)] == ["::"]
    assert obs.elected() is None


def test_mld_source_table_keeps_the_lowest_addresses():
    obs = observe.Observer(max_sources=2, family=observe.IPV6)
    for source in ("fe80::100", "fe80::10", "fe80::9", "fe80::ffff"):
        obs.feed(mld_query(source), 1.0)
    assert [e["source"] for e in obs.queriers(now=1.0)] == ["fe80::9", "fe80::10"]
    assert obs.unlisted == 2


def test_igmp_entries_name_their_family():
    obs = observe.Observer()
    obs.feed(v2_query(A), 1.0)
    (entry,) = obs.queriers(now=1.0)
    assert entry["family"] == "ipv4"
    assert observe.describe(entry).startswith("10.0.0.9 IGMPv2 x1")

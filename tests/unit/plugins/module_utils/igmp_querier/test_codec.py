"""The IGMP wire codec, checked against scapy as the independent encoder and decoder.

scapy 2.8 keeps its IGMP v1/v2/v3 layers in ``scapy.layers.igmp``; ``scapy.contrib.igmp`` and
``scapy.contrib.igmpv3`` are deprecated aliases of the same classes, so the layers are imported
from their real home.

Both directions for every message kind: we encode and scapy decodes (and builds the very same
bytes), scapy encodes and we decode. Then every way a packet can be broken on the wire, each of
which must come back as :class:`codec.Malformed` with a specific reason, never as an exception.
"""

import random
import struct

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.codec import (
    ANY,
    GroupRecord,
    Leave,
    Malformed,
    Packet,
    Query,
    Report,
    Unknown,
    V3Report,
)

sc = pytest.importorskip("scapy.layers.igmp", reason="scapy is the independent oracle for the codec")
inet = pytest.importorskip("scapy.layers.inet")
scapy_utils = pytest.importorskip("scapy.utils")
IP = inet.IP

SRC = "192.168.7.10"
G1 = "239.1.2.3"
G2 = "224.0.1.129"
G3 = "239.255.255.250"


def scapy_float_decode(code):
    """scapy's own decoding of an IGMPv3 Max Resp Code / QQIC octet."""
    query = sc.IGMPv3_MQ()
    return query.get_field("mrcode").m2i(query, code)


# --- the message catalogue: (name, our bytes, scapy layer, what we decode, IPv4 destination) -----

V3_RECORDS = (
    GroupRecord(codec.MODE_IS_INCLUDE, G1, ("10.0.0.1", "10.0.0.2")),
    GroupRecord(codec.MODE_IS_EXCLUDE, G2),
    GroupRecord(codec.CHANGE_TO_INCLUDE, G3, ("172.16.0.1",)),
    GroupRecord(codec.CHANGE_TO_EXCLUDE, "239.0.0.1"),
    GroupRecord(codec.ALLOW_NEW_SOURCES, "239.0.0.2", ("10.9.8.7", "10.9.8.6", "10.9.8.5")),
    GroupRecord(codec.BLOCK_OLD_SOURCES, "239.0.0.3", ("10.9.8.7",)),
)


def scapy_records(records):
    return [
        sc.IGMPv3_MR_Group(rtype=r.record_type, maddr=r.group, srcaddrs=list(r.sources)) for r in records
    ]


CASES = [
    ("v1 query", codec.encode_query_v1(), lambda: sc.IGMP_MQ(mrcode=0), Query(1, 0, ANY), codec.ALL_HOSTS),
    ("v2 general query", codec.encode_query_v2(100), lambda: sc.IGMP_MQ(mrcode=100),
     Query(2, 100, ANY), codec.ALL_HOSTS),
    ("v2 general query, max response 25.5 s", codec.encode_query_v2(255), lambda: sc.IGMP_MQ(mrcode=255),
     Query(2, 255, ANY), codec.ALL_HOSTS),
    ("v2 group-specific query", codec.encode_query_v2(10, G1), lambda: sc.IGMP_MQ(mrcode=10, gaddr=G1),
     Query(2, 10, G1), G1),
    ("v3 general query", codec.encode_query_v3(100, 2, 125),
     lambda: sc.IGMPv3_MQ(mrcode=100, qrv=2, qqic=125), Query(3, 100, ANY, False, 2, 125), codec.ALL_HOSTS),
    ("v3 general query, float-coded max response and QQI", codec.encode_query_v3(200, 7, 300),
     lambda: sc.IGMPv3_MQ(mrcode=200, qrv=7, qqic=codec.encode_float_code(300)),
     Query(3, 200, ANY, False, 7, 288), codec.ALL_HOSTS),
    ("v3 query, robustness 8 sent as QRV 0", codec.encode_query_v3(100, 8, 60),
     lambda: sc.IGMPv3_MQ(mrcode=100, qrv=0, qqic=60), Query(3, 100, ANY, False, 0, 60), codec.ALL_HOSTS),
    ("v3 group-and-source-specific query, S flag", codec.encode_query_v3(10, 3, 20, G1, ["10.0.0.1", "10.0.0.2"], True),
     lambda: sc.IGMPv3_MQ(mrcode=10, gaddr=G1, s=1, qrv=3, qqic=20, srcaddrs=["10.0.0.1", "10.0.0.2"]),
     Query(3, 10, G1, True, 3, 20, ("10.0.0.1", "10.0.0.2")), G1),
    ("v1 report", codec.encode_report_v1(G1), lambda: sc.IGMP_MR(gaddr=G1), Report(1, G1), G1),
    ("v2 report", codec.encode_report_v2(G2), lambda: sc.IGMPv2_MR(gaddr=G2), Report(2, G2), G2),
    ("v2 leave", codec.encode_leave(G3), lambda: sc.IGMPv2_LG(gaddr=G3), Leave(G3), codec.ALL_ROUTERS),
    ("v3 report, one record", codec.encode_report_v3([GroupRecord(codec.CHANGE_TO_EXCLUDE, G1)]),
     lambda: sc.IGMPv3_MR(records=scapy_records([GroupRecord(codec.CHANGE_TO_EXCLUDE, G1)])),
     V3Report((GroupRecord(codec.CHANGE_TO_EXCLUDE, G1),)), codec.IGMPV3_REPORT_DST),
    ("v3 report, every record type", codec.encode_report_v3(V3_RECORDS),
     lambda: sc.IGMPv3_MR(records=scapy_records(V3_RECORDS)), V3Report(V3_RECORDS), codec.IGMPV3_REPORT_DST),
    ("v3 report, no records", codec.encode_report_v3([]), lambda: sc.IGMPv3_MR(records=[]),
     V3Report(()), codec.IGMPV3_REPORT_DST),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, ours, scapy_layer, expected, dst", CASES, ids=IDS)
def test_our_igmp_bytes_equal_scapys(name, ours, scapy_layer, expected, dst):
    """Byte for byte, checksum included (scapy computes its own)."""
    assert ours == bytes(scapy_layer())
    assert scapy_utils.checksum(ours) == 0
    assert codec.checksum(ours) == 0


@pytest.mark.parametrize("name, ours, scapy_layer, expected, dst", CASES, ids=IDS)
def test_our_datagram_equals_scapys(name, ours, scapy_layer, expected, dst):
    """scapy puts IGMP in IPv4 with TTL 1, ToS 0xc0 and Router Alert, as RFC 2236/3376 ask."""
    assert codec.encode_ipv4(SRC, dst, ours) == bytes(IP(src=SRC, dst=dst, id=0) / scapy_layer())


@pytest.mark.parametrize("name, ours, scapy_layer, expected, dst", CASES, ids=IDS)
def test_scapy_decodes_our_datagram(name, ours, scapy_layer, expected, dst):
    datagram = codec.encode_ipv4(SRC, dst, ours)
    pkt = IP(datagram)
    assert pkt.version == 4
    assert pkt.ihl == 6  # 20 octets + the 4-octet Router Alert option
    assert pkt.tos == 0xC0
    assert pkt.ttl == 1
    assert pkt.proto == 2
    assert pkt.len == len(datagram) == 24 + len(ours)
    assert pkt.frag == 0 and int(pkt.flags) == 0
    assert (pkt.src, pkt.dst) == (SRC, dst)
    assert len(pkt.options) == 1
    option = pkt.options[0]
    assert isinstance(option, inet.IPOption_Router_Alert)
    assert (option.copy_flag, option.option, option.length, option.alert) == (1, 20, 4, 0)
    assert scapy_utils.checksum(datagram[:24]) == 0  # header checksum verifies
    layer = pkt.payload
    assert layer.chksum == struct.unpack("!H", ours[2:4])[0]
    _check_scapy_fields(layer, expected)


def _check_scapy_fields(layer, expected):
    if isinstance(expected, Query):
        assert layer.type == 0x11
        assert layer.gaddr == expected.group
        if expected.version == 3:
            assert isinstance(layer, sc.IGMPv3_MQ)
            assert layer.getfieldval("mrcode") == expected.max_resp_tenths  # scapy's float decode
            assert layer.qrv == expected.qrv
            assert scapy_float_decode(layer.qqic) == expected.qqi
            assert layer.s == int(expected.suppress)
            assert list(layer.srcaddrs or []) == list(expected.sources)
            assert layer.numsrc == len(expected.sources)
        else:
            assert isinstance(layer, sc.IGMP_MQ)
            assert layer.mrcode == expected.max_resp_tenths
    elif isinstance(expected, Report):
        assert isinstance(layer, sc.IGMP_MR if expected.version == 1 else sc.IGMPv2_MR)
        assert layer.gaddr == expected.group
    elif isinstance(expected, Leave):
        assert isinstance(layer, sc.IGMPv2_LG)
        assert layer.gaddr == expected.group
    else:
        assert isinstance(layer, sc.IGMPv3_MR)
        assert layer.numgrp == len(expected.records)
        got = [(r.rtype, r.maddr, tuple(r.srcaddrs), r.numsrc, r.auxdlen) for r in layer.records]
        assert got == [(r.record_type, r.group, r.sources, len(r.sources), 0) for r in expected.records]


@pytest.mark.parametrize("name, ours, scapy_layer, expected, dst", CASES, ids=IDS)
def test_we_decode_scapys_datagram(name, ours, scapy_layer, expected, dst):
    wire = bytes(IP(src=SRC, dst=dst) / scapy_layer())
    assert codec.decode_ipv4(wire) == Packet(SRC, dst, 1, True, expected)
    assert codec.decode_igmp(bytes(scapy_layer())) == expected


def test_we_decode_scapy_v3_report_with_auxiliary_data():
    # scapy does not model aux data; it goes on the wire as the group record's payload
    record = sc.IGMPv3_MR_Group(rtype=1, maddr=G1, srcaddrs=["10.1.1.1"], auxdlen=2) / (b"abcd" + b"efgh")
    wire = bytes(IP(src=SRC, dst=codec.IGMPV3_REPORT_DST) / sc.IGMPv3_MR(records=[record]))
    packet = codec.decode_ipv4(wire)
    assert packet.message == V3Report((GroupRecord(1, G1, ("10.1.1.1",), b"abcdefgh"),))
    # and we write the same bytes
    assert codec.encode_ipv4(SRC, codec.IGMPV3_REPORT_DST, codec.encode_report_v3(packet.message.records),
                             ident=IP(wire).id) == wire


def test_v3_report_aux_data_round_trip_between_records():
    records = (GroupRecord(2, G1, ("10.0.0.1",), b"\x01\x02\x03\x04"), GroupRecord(4, G2, (), b"x" * 8))
    assert codec.decode_igmp(codec.encode_report_v3(records)) == V3Report(records)


@pytest.mark.parametrize("header, igmp_type", [
    (sc.IGMPv3_MRA(advIntvl=20, qryIntvl=125, robust=2), 0x30),
    (sc.IGMPv3_MRS(), 0x31),
])
def test_other_igmp_types_are_unknown_not_malformed(header, igmp_type):
    wire = bytes(IP(src=SRC, dst="224.0.0.106") / header)
    assert codec.decode_ipv4(wire) == Packet(SRC, "224.0.0.106", 1, True, Unknown(igmp_type))


def test_four_octet_router_messages():
    # RFC 4286 solicitation (0x31) and termination (0x32) are 4 octets: valid, not truncated
    for igmp_type in (0x31, 0x32):
        assert codec.decode_igmp(fix_igmp(bytes([igmp_type, 0, 0, 0]))) == Unknown(igmp_type)
        assert codec.decode_igmp(bytes([igmp_type, 0, 0, 0])).reason.startswith("truncated")  # bad checksum
    # every other type still needs 8 octets
    for igmp_type in (0x11, 0x16, 0x17, 0x22, 0x30):
        assert codec.decode_igmp(fix_igmp(bytes([igmp_type, 0, 0, 0]))) == Malformed(
            "truncated: 4 octets, IGMP needs at least 8")


def test_dvmrp_and_mtrace_are_unknown():
    for igmp_type in (0x13, 0x1E, 0x1F):
        data = fix_igmp(bytes([igmp_type, 0, 0, 0]) + b"\x00" * 12)
        assert codec.decode_igmp(data) == Unknown(igmp_type)


# --- checksums ------------------------------------------------------------------------------

def test_checksum_rfc1071_example():
    # RFC 1071 s.3: the one's complement sum of 0001 f203 f4f5 f6f7 is ddf2
    assert codec.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


def test_checksum_agrees_with_scapy_on_random_data_of_every_parity():
    rng = random.Random(2236)
    for length in list(range(0, 70)) + [1499, 1500, 65535]:
        data = bytes(rng.getrandbits(8) for _octet in range(length))
        assert codec.checksum(data) == scapy_utils.checksum(data), length


def test_checksum_of_all_ones_and_zeros():
    assert codec.checksum(b"") == 0xFFFF
    assert codec.checksum(b"\x00" * 8) == 0xFFFF
    assert codec.checksum(b"\xff" * 8) == 0x0000


def test_ipv4_header_checksum_matches_scapys():
    for ttl, tos, ident in ((1, 0xC0, 0), (64, 0, 0xBEEF), (255, 0x10, 0xFFFF)):
        ours = codec.encode_ipv4(SRC, G1, codec.encode_report_v2(G1), ttl=ttl, tos=tos, ident=ident)
        pkt = IP(ours)
        theirs = bytes(IP(src=SRC, dst=G1, ttl=ttl, tos=tos, id=ident) / sc.IGMPv2_MR(gaddr=G1))
        assert ours == theirs
        assert (pkt.ttl, pkt.tos, pkt.id) == (ttl, tos, ident)


# --- IPv4 details ---------------------------------------------------------------------------

def test_ethernet_padding_after_the_datagram_is_ignored():
    datagram = codec.encode_ipv4(SRC, G1, codec.encode_report_v2(G1))
    assert len(datagram) == 32  # an Ethernet frame pads this to 46 octets of payload
    assert codec.decode_ipv4(datagram + b"\x00" * 14) == codec.decode_ipv4(datagram)
    assert codec.decode_ipv4(datagram + b"\xde\xad" * 7).message == Report(2, G1)


def test_datagram_without_router_alert():
    datagram = codec.encode_ipv4(SRC, G1, codec.encode_report_v2(G1), router_alert=False, ttl=1)
    assert len(datagram) == 28 and IP(datagram).ihl == 5  # (scapy's IGMP layer adds RA to its own view)
    assert codec.decode_ipv4(datagram) == Packet(SRC, G1, 1, False, Report(2, G1))


@pytest.mark.parametrize("options, alert", [
    ([inet.IPOption_NOP(), inet.IPOption_Router_Alert()], True),
    ([inet.IPOption_NOP(), inet.IPOption_NOP(), inet.IPOption_NOP(), inet.IPOption_NOP()], False),
    ([inet.IPOption_RR(routers=["10.0.0.1"]), inet.IPOption_Router_Alert()], True),
    ([inet.IPOption_EOL(), inet.IPOption_NOP(), inet.IPOption_NOP(), inet.IPOption_NOP(),
      inet.IPOption_Router_Alert()], False),  # after End of Option List nothing counts
])
def test_router_alert_found_among_other_options(options, alert):
    wire = bytes(IP(src=SRC, dst=codec.ALL_HOSTS, ttl=1, options=options) / sc.IGMP_MQ(mrcode=100))
    packet = codec.decode_ipv4(wire)
    assert isinstance(packet, Packet)
    assert packet.router_alert is alert
    assert packet.options_ok  # scapy builds them well formed
    assert packet.message == Query(2, 100, ANY)


def test_ttl_is_reported_as_received():
    wire = bytes(IP(src=SRC, dst=codec.ALL_HOSTS, ttl=7) / sc.IGMP_MQ(mrcode=100))
    assert codec.decode_ipv4(wire).ttl == 7


def test_extra_octets_after_a_v3_query_are_checksummed_and_ignored():
    # RFC 3376 s.4.1.10: additional data counts for the checksum, is otherwise ignored
    body = bytearray(codec.encode_query_v3(100, 2, 125, G1, ["10.0.0.1"]) + b"\x01\x02\x03\x04")
    data = fix_igmp(bytes(body))
    assert codec.decode_igmp(data) == Query(3, 100, G1, False, 2, 125, ("10.0.0.1",))
    assert codec.decode_igmp(data[:-1] + b"\x05") == Malformed("bad IGMP checksum")


def test_v2_report_longer_than_8_octets_is_accepted():
    # RFC 2236 s.2.5: longer messages are processed, the extra octets ignored
    data = fix_igmp(codec.encode_report_v2(G1) + b"\x00" * 4)
    assert codec.decode_igmp(data) == Report(2, G1)


# --- broken packets: Malformed with a reason, never an exception -------------------------------

def fix_igmp(data):
    """Recompute the IGMP checksum so that only the defect under test remains."""
    body = bytearray(data)
    body[2:4] = b"\x00\x00"
    body[2:4] = struct.pack("!H", codec.checksum(bytes(body)))
    return bytes(body)


def fix_ip(datagram, ihl=24):
    """Recompute the IPv4 header checksum over the first ``ihl`` octets."""
    packet = bytearray(datagram)
    packet[10:12] = b"\x00\x00"
    packet[10:12] = struct.pack("!H", codec.checksum(bytes(packet[:ihl])))
    return bytes(packet)


def v3_report_head(count):
    return struct.pack("!BBHHH", codec.TYPE_V3_REPORT, 0, 0, 0, count)


def v3_record(rtype, group, nsrc_claimed, sources=(), auxwords=0, aux=b""):
    import socket

    return struct.pack("!BBH4s", rtype, auxwords, nsrc_claimed, socket.inet_aton(group)) + b"".join(
        socket.inet_aton(s) for s in sources) + aux


def set_octet(data, index, value):
    body = bytearray(data)
    body[index] = value
    return bytes(body)


MALFORMED_IGMP = [
    ("empty", b"", "truncated: 0 octets, IGMP needs at least 8"),
    ("7 octets", codec.encode_report_v2(G1)[:7], "truncated: 7 octets"),
    ("bad checksum", set_octet(codec.encode_report_v2(G1), 7, 4), "bad IGMP checksum"),
    ("checksum field altered", set_octet(codec.encode_query_v2(100), 3, 0), "bad IGMP checksum"),
    ("9-octet query", fix_igmp(codec.encode_query_v2(100) + b"\x00"), "query of 9 octets is no IGMP version"),
    ("11-octet query", fix_igmp(codec.encode_query_v2(100) + b"\x00" * 3), "query of 11 octets"),
    ("v3 query claims 3 sources, has 1",
     fix_igmp(codec.encode_query_v3(100, 2, 125, G1, ["10.0.0.1"])[:10] + b"\x00\x03" + b"\x0a\x00\x00\x01"),
     "query claims 3 sources, has room for 1"),
    ("v3 query claims 65535 sources", fix_igmp(codec.encode_query_v3(100, 2, 125)[:10] + b"\xff\xff"),
     "query claims 65535 sources, has room for 0"),
    ("v3 query truncated mid-source", fix_igmp(codec.encode_query_v3(100, 2, 125, G1, ["10.0.0.1"])[:14]),
     "query claims 1 sources, has room for 0"),
    ("v2 report for unicast group", fix_igmp(codec.encode_report_v2(G1)[:4] + bytes([10, 0, 0, 1])),
     "report or leave for non-multicast group 10.0.0.1"),
    ("v1 report for 240.0.0.1", fix_igmp(codec.encode_report_v1(G1)[:4] + bytes([240, 0, 0, 1])),
     "non-multicast group 240.0.0.1"),
    ("leave for 0.0.0.0", fix_igmp(codec.encode_leave(G1)[:4] + b"\x00" * 4),
     "report or leave for non-multicast group 0.0.0.0"),
    ("v3 report claims 2 records, has 1", fix_igmp(v3_report_head(2) + v3_record(4, G1, 0)),
     "v3 report claims 2 records, record 2 is truncated"),
    ("v3 report claims 65535 records", fix_igmp(v3_report_head(65535)),
     "v3 report claims 65535 records, record 1 is truncated"),
    ("v3 record cut inside its header", fix_igmp(v3_report_head(1) + v3_record(4, G1, 0)[:6]),
     "record 1 is truncated"),
    ("v3 record claims 5 sources, has 1", fix_igmp(v3_report_head(1) + v3_record(1, G1, 5, ["10.0.0.1"])),
     "v3 record 1 claims 5 sources, overruns the message"),
    ("v3 record aux data overruns", fix_igmp(v3_report_head(1) + v3_record(1, G1, 0, auxwords=3, aux=b"abcd")),
     "v3 record 1 claims 0 sources, overruns the message"),
    ("v3 record type 0", fix_igmp(v3_report_head(2) + v3_record(4, G1, 0) + v3_record(0, G2, 0)),
     "v3 record 2 has unknown type 0"),
    ("v3 record type 7", fix_igmp(v3_report_head(1) + v3_record(7, G1, 0)), "v3 record 1 has unknown type 7"),
    ("v3 record for unicast group", fix_igmp(v3_report_head(1) + v3_record(4, "192.168.1.1", 0)),
     "v3 record 1 is for non-multicast group 192.168.1.1"),
]


@pytest.mark.parametrize("name, data, reason", MALFORMED_IGMP, ids=[m[0] for m in MALFORMED_IGMP])
def test_malformed_igmp_is_dropped_with_a_reason(name, data, reason):
    result = codec.decode_igmp(data)
    assert isinstance(result, Malformed)
    assert reason in result.reason
    # the same defect inside a good IPv4 datagram gives the same reason
    assert codec.decode_ipv4(codec.encode_ipv4(SRC, G1, data)) == result


GOOD = codec.encode_ipv4(SRC, G1, codec.encode_report_v2(G1))  # 24-octet header + 8


def _with(datagram, offset, fmt, value, ihl=24):
    packet = bytearray(datagram)
    struct.pack_into(fmt, packet, offset, value)
    return fix_ip(bytes(packet), ihl)


MALFORMED_IPV4 = [
    ("empty", b"", "truncated IPv4 header (0 octets)"),
    ("19 octets", GOOD[:19], "truncated IPv4 header (19 octets)"),
    ("IPv6", _with(GOOD, 0, "!B", 0x66), "not IPv4 (version 6)"),
    ("version 0", _with(GOOD, 0, "!B", 0x06), "not IPv4 (version 0)"),
    ("IHL 4", _with(GOOD, 0, "!B", 0x44, ihl=16), "bad IPv4 header length 16"),
    ("IHL 0", set_octet(GOOD, 0, 0x40), "bad IPv4 header length 0"),
    ("IHL beyond the buffer", set_octet(GOOD, 0, 0x4F), "bad IPv4 header length 60"),
    ("total length below the header", _with(GOOD, 2, "!H", 20), "IPv4 total length 20 does not fit 32 octets"),
    ("total length beyond the buffer", _with(GOOD, 2, "!H", 40), "IPv4 total length 40 does not fit 32 octets"),
    ("datagram truncated", GOOD[:28], "IPv4 total length 32 does not fit 28 octets"),
    ("bad header checksum", set_octet(GOOD, 8, 2), "bad IPv4 header checksum"),
    ("More Fragments", _with(GOOD, 6, "!H", 0x2000), "fragmented IGMP"),
    ("fragment offset", _with(GOOD, 6, "!H", 0x0001), "fragmented IGMP"),
    ("UDP", _with(GOOD, 9, "!B", 17), "IP protocol 17 is not IGMP"),
    ("IGMP truncated by the total length", _with(GOOD, 2, "!H", 30), "truncated: 6 octets"),
    ("bad IGMP checksum", set_octet(GOOD, 31, 0x55), "bad IGMP checksum"),
]


@pytest.mark.parametrize("name, data, reason", MALFORMED_IPV4, ids=[m[0] for m in MALFORMED_IPV4])
def test_malformed_ipv4_is_dropped_with_a_reason(name, data, reason):
    result = codec.decode_ipv4(data)
    assert isinstance(result, Malformed)
    assert reason in result.reason


def test_dont_fragment_flag_is_fine():
    assert codec.decode_ipv4(_with(GOOD, 6, "!H", 0x4000)).message == Report(2, G1)


def test_decoders_accept_bytearray_and_memoryview():
    for view in (bytearray(GOOD), memoryview(GOOD)):
        assert codec.decode_ipv4(view) == codec.decode_ipv4(GOOD)
        assert codec.decode_igmp(view[24:]) == Report(2, G1)


# --- encoders refuse what cannot go on the wire --------------------------------------------------

@pytest.mark.parametrize("tenths", [0, 256, -1])
def test_v2_query_max_response_range(tenths):
    with pytest.raises(ValueError, match="1..255"):
        codec.encode_query_v2(tenths)


def test_v3_report_aux_data_must_be_whole_words():
    with pytest.raises(ValueError, match="multiple of 4"):
        codec.encode_report_v3([GroupRecord(1, G1, (), b"abc")])


def test_qrv_field():
    assert [codec.qrv_field(r) for r in range(0, 10)] == [0, 1, 2, 3, 4, 5, 6, 7, 0, 0]
    assert codec.qrv_field(255) == 0
    for robustness, qrv in ((7, 7), (8, 0), (255, 0)):
        assert codec.decode_igmp(codec.encode_query_v3(100, robustness, 125)).qrv == qrv
        assert sc.IGMP(codec.encode_query_v3(100, robustness, 125)).qrv == qrv


# --- helpers used in logs and the election -------------------------------------------------------

def test_ip_key_is_numeric():
    assert codec.ip_key("10.0.0.9") < codec.ip_key("10.0.0.10")
    assert codec.ip_key("9.255.255.255") < codec.ip_key("10.0.0.0")
    assert codec.ip_key("192.168.1.20") < codec.ip_key("192.168.1.100")
    assert codec.ip_key("0.0.0.0") == 0 and codec.ip_key("255.255.255.255") == 2 ** 32 - 1
    assert sorted(["10.0.0.10", "10.0.0.9", "10.0.0.100"], key=codec.ip_key) == ["10.0.0.9", "10.0.0.10", "10.0.0.100"]


def test_describe_each_kind():
    assert codec.describe(Query(2, 100, ANY)) == "IGMPv2 general query, max response 10.0 s"
    assert codec.describe(Query(3, 200, G1, qrv=2, qqi=125)) == (
        "IGMPv3 group-specific %s query, max response 20.0 s, QRV 2, QQI 125 s" % G1)
    assert codec.describe(Report(1, G1)) == "IGMPv1 report for %s" % G1
    assert codec.describe(Leave(G1)) == "IGMPv2 leave for %s" % G1
    assert codec.describe(V3Report(V3_RECORDS[:2])) == (
        "IGMPv3 report: MODE_IS_INCLUDE %s, MODE_IS_EXCLUDE %s" % (G1, G2))
    assert codec.describe(Unknown(0x13)) == "IGMP type 0x13"

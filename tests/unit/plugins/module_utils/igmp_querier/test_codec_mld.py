"""The MLD wire codec, checked against scapy as the independent encoder and decoder.

scapy keeps MLDv1 and MLDv2 in ``scapy.layers.inet6`` (ICMPv6MLQuery, ICMPv6MLQuery2,
ICMPv6MLReport, ICMPv6MLDone, ICMPv6MLReport2) and computes the ICMPv6 checksum over the
RFC 8200 pseudo-header itself. Both directions for every message kind: we encode and scapy
decodes (and builds the very same bytes), scapy encodes and we decode. Then the MLDv2 Maximum
Response Code at every boundary, every way a packet can be broken on the wire (a
:class:`codec.Malformed` with a specific reason, never an exception), and the query rules.
"""

import bisect
import random
import struct

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, codec_mld
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.codec import (
    GroupRecord,
    Leave,
    Malformed,
    Packet,
    Query,
    Report,
    Unknown,
    V3Report,
)
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.codec_mld import ALL_NODES, ANY6

inet6 = pytest.importorskip("scapy.layers.inet6", reason="scapy is the independent oracle for the codec")
IPv6 = inet6.IPv6

SRC = "fe80::9"
G1 = "ff05::1:3"
G2 = "ff02::fb"
G3 = "ff0e::db8:1"
S1, S2, S3 = "2001:db8::1", "2001:db8::2", "fe80::1234"


def rfc_mrd(code):
    """RFC 3810 s.5.1.3, written out independently of codec_mld.decode_mrc."""
    if code < 32768:
        return code
    exp = (code >> 12) & 0x7
    mant = code & 0xFFF
    return (mant | 0x1000) << (exp + 3)


def scapy_wire(dst, layer, src=SRC, hlim=1, router_alert=True):
    """An IPv6 packet as scapy builds it: traffic class 0xc0, Hop-by-Hop Router Alert (MLD)."""
    packet = IPv6(src=src, dst=dst, hlim=hlim, tc=0xC0)
    if router_alert:
        packet = packet / inet6.IPv6ExtHdrHopByHop(options=[inet6.RouterAlert(value=0)])
    return bytes(packet / layer)


def scapy_records(records):
    return [inet6.ICMPv6MLDMultAddrRec(rtype=r.record_type, dst=r.group, sources=list(r.sources)) for r in records]


V2_RECORDS = (
    GroupRecord(codec.MODE_IS_INCLUDE, G1, (S1, S2)),
    GroupRecord(codec.MODE_IS_EXCLUDE, G2),
    GroupRecord(codec.CHANGE_TO_INCLUDE, G3, (S3,)),
    GroupRecord(codec.CHANGE_TO_EXCLUDE, "ff15::9"),
    GroupRecord(codec.ALLOW_NEW_SOURCES, "ff3e::8000:1", (S1, S2, S3)),
    GroupRecord(codec.BLOCK_OLD_SOURCES, "ff05::2", (S2,)),
)

# (name, our ICMPv6 bytes with the checksum for SRC -> dst, scapy layer, what we decode, destination)
CASES = [
    ("v1 general query", codec_mld.encode_query_mld(1, 10000, 2, 125, src=SRC),
     lambda: inet6.ICMPv6MLQuery(mrd=10000), Query(1, 100, ANY6), ALL_NODES),
    ("v1 general query, max response 65.535 s", codec_mld.encode_query_mld(1, 65535, 2, 125, src=SRC),
     lambda: inet6.ICMPv6MLQuery(mrd=65535), Query(1, 655, ANY6), ALL_NODES),
    ("v1 address-specific query", codec_mld.encode_query_mld(1, 1000, 2, 125, G1, src=SRC),
     lambda: inet6.ICMPv6MLQuery(mrd=1000, mladdr=G1), Query(1, 10, G1), G1),
    ("v2 general query", codec_mld.encode_query_mld(2, 10000, 2, 125, src=SRC),
     lambda: inet6.ICMPv6MLQuery2(mrd=10000, QRV=2, QQIC=125), Query(2, 100, ANY6, False, 2, 125), ALL_NODES),
    ("v2 general query, float-coded max response and QQIC", codec_mld.encode_query_mld(2, 40000, 7, 300, src=SRC),
     lambda: inet6.ICMPv6MLQuery2(mrd=0x8388, QRV=7, QQIC=codec.encode_float_code(300)),
     Query(2, 400, ANY6, False, 7, 288), ALL_NODES),
    ("v2 query, robustness 8 sent as QRV 0", codec_mld.encode_query_mld(2, 10000, 8, 60, src=SRC),
     lambda: inet6.ICMPv6MLQuery2(mrd=10000, QRV=0, QQIC=60), Query(2, 100, ANY6, False, 0, 60), ALL_NODES),
    ("v2 address-specific query", codec_mld.encode_query_mld(2, 1000, 2, 125, G1, src=SRC),
     lambda: inet6.ICMPv6MLQuery2(mrd=1000, mladdr=G1, QRV=2, QQIC=125), Query(2, 10, G1, False, 2, 125), G1),
    ("v1 report", codec_mld.encode_report_mld1(G1, src=SRC), lambda: inet6.ICMPv6MLReport(mladdr=G1),
     Report(1, G1), G1),
    ("done", codec_mld.encode_done(G2, src=SRC), lambda: inet6.ICMPv6MLDone(mladdr=G2), Leave(G2), "ff02::2"),
    ("v2 report, one record", codec_mld.encode_report_mld2([GroupRecord(codec.CHANGE_TO_EXCLUDE, G1)], src=SRC),
     lambda: inet6.ICMPv6MLReport2(records=scapy_records([GroupRecord(codec.CHANGE_TO_EXCLUDE, G1)])),
     V3Report((GroupRecord(codec.CHANGE_TO_EXCLUDE, G1),)), codec_mld.ALL_MLDV2_ROUTERS),
    ("v2 report, every record type", codec_mld.encode_report_mld2(V2_RECORDS, src=SRC),
     lambda: inet6.ICMPv6MLReport2(records=scapy_records(V2_RECORDS)), V3Report(V2_RECORDS),
     codec_mld.ALL_MLDV2_ROUTERS),
    ("v2 report, no records", codec_mld.encode_report_mld2([], src=SRC), lambda: inet6.ICMPv6MLReport2(records=[]),
     V3Report(()), codec_mld.ALL_MLDV2_ROUTERS),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, ours, scapy_layer, expected, dst", CASES, ids=IDS)
def test_our_mld_bytes_equal_scapys(name, ours, scapy_layer, expected, dst):
    """Byte for byte, the pseudo-header checksum included (scapy computes its own)."""
    assert ours == scapy_wire(dst, scapy_layer())[48:]
    if isinstance(expected, Query):
        assert len(ours) == (24 if expected.version == 1 else 28)  # RFC 3810 s.8.1: length is the version


@pytest.mark.parametrize("name, ours, scapy_layer, expected, dst", CASES, ids=IDS)
def test_our_packet_equals_scapys(name, ours, scapy_layer, expected, dst):
    assert codec_mld.encode_ipv6(SRC, dst, ours) == scapy_wire(dst, scapy_layer())
    # encode_ipv6 fixes the checksum for its own addresses, whatever the payload carried
    assert codec_mld.encode_ipv6(SRC, dst, ours[:2] + b"\x00\x00" + ours[4:]) == scapy_wire(dst, scapy_layer())


@pytest.mark.parametrize("name, ours, scapy_layer, expected, dst", CASES, ids=IDS)
def test_scapy_decodes_our_packet(name, ours, scapy_layer, expected, dst):
    wire = codec_mld.encode_ipv6(SRC, dst, ours)
    pkt = IPv6(wire)
    assert (pkt.version, pkt.tc, pkt.fl, pkt.hlim, pkt.nh) == (6, 0xC0, 0, 1, 0)
    assert pkt.plen == len(wire) - 40 == 8 + len(ours)
    assert (pkt.src, pkt.dst) == (SRC, dst)
    hbh = pkt[inet6.IPv6ExtHdrHopByHop]
    assert (hbh.nh, hbh.len) == (58, 0)
    assert isinstance(hbh.options[0], inet6.RouterAlert)
    assert (hbh.options[0].otype, hbh.options[0].optlen, hbh.options[0].value) == (5, 2, 0)
    assert isinstance(hbh.options[1], inet6.PadN) and hbh.options[1].optlen == 0
    layer = hbh.payload
    # the checksum verifies: scapy's own pseudo-header sum over the message with the field zeroed
    zeroed = bytes(layer)[:2] + b"\x00\x00" + bytes(layer)[4:]
    assert layer.cksum == inet6.in6_chksum(58, pkt, zeroed) == struct.unpack("!H", ours[2:4])[0]
    _check_scapy_fields(layer, expected)


def scapy_record_list(layer):
    """The records of a dissected MLDv2 report (scapy chains the second and later as payloads)."""
    found = []
    for record in layer.records:
        while isinstance(record, inet6.ICMPv6MLDMultAddrRec):
            found.append(record)
            record = record.payload
    return found


def _check_scapy_fields(layer, expected):
    if isinstance(expected, Query):
        assert layer.type == 130 and layer.code == 0
        assert layer.mladdr == expected.group
        assert layer.mrd // 100 == expected.max_resp_tenths or rfc_mrd(layer.mrd) // 100 == expected.max_resp_tenths
        if expected.version == 2:
            assert isinstance(layer, inet6.ICMPv6MLQuery2)
            assert rfc_mrd(layer.mrd) // 100 == expected.max_resp_tenths
            assert layer.QRV == expected.qrv
            assert codec.decode_float_code(layer.QQIC) == expected.qqi
            assert layer.S == 0 and layer.Resv == 0
            assert layer.sources_number == 0 and not layer.sources
        else:
            assert isinstance(layer, inet6.ICMPv6MLQuery) and not isinstance(layer, inet6.ICMPv6MLQuery2)
            assert layer.mrd // 100 == expected.max_resp_tenths
    elif isinstance(expected, Report):
        assert isinstance(layer, inet6.ICMPv6MLReport)
        assert (layer.mladdr, layer.mrd) == (expected.group, 0)
    elif isinstance(expected, Leave):
        assert isinstance(layer, inet6.ICMPv6MLDone)
        assert (layer.mladdr, layer.mrd) == (expected.group, 0)
    else:
        assert isinstance(layer, inet6.ICMPv6MLReport2)
        assert layer.records_number == len(expected.records)
        got = [(r.rtype, r.dst, tuple(r.sources), r.sources_number, r.auxdata_len) for r in scapy_record_list(layer)]
        assert got == [(r.record_type, r.group, r.sources, len(r.sources), 0) for r in expected.records]


@pytest.mark.parametrize("name, ours, scapy_layer, expected, dst", CASES, ids=IDS)
def test_we_decode_scapys_packet(name, ours, scapy_layer, expected, dst):
    assert codec_mld.decode_ipv6(scapy_wire(dst, scapy_layer())) == Packet(SRC, dst, 1, True, expected)


def test_we_decode_scapys_address_and_source_specific_query():
    layer = inet6.ICMPv6MLQuery2(mrd=2000, mladdr=G1, S=1, QRV=3, QQIC=20, sources=[S1, S2, S3])
    packet = codec_mld.decode_ipv6(scapy_wire(G1, layer))
    assert packet == Packet(SRC, G1, 1, True, Query(2, 20, G1, True, 3, 20, (S1, S2, S3)))
    assert codec_mld.query_defect_mld(packet) is None


def test_we_decode_scapys_v2_report_with_auxiliary_data():
    # auxdata_len given: scapy would count octets, RFC 3810 s.5.2.6 counts 32-bit words
    record = inet6.ICMPv6MLDMultAddrRec(rtype=1, dst=G1, sources=[S1], auxdata_len=2, auxdata=b"abcdefgh")
    wire = scapy_wire(codec_mld.ALL_MLDV2_ROUTERS, inet6.ICMPv6MLReport2(records=[record]))
    packet = codec_mld.decode_ipv6(wire)
    assert packet.message == V3Report((GroupRecord(1, G1, (S1,), b"abcdefgh"),))
    # and we write the same bytes
    assert codec_mld.encode_ipv6(SRC, codec_mld.ALL_MLDV2_ROUTERS, codec_mld.encode_report_mld2(
        packet.message.records)) == wire


def test_scapy_queries_with_the_mrd_float_code_decode_to_milliseconds():
    for code in (0, 1, 100, 32767, 0x8000, 0x8001, 0x9ABC, 0xFFFF):
        packet = codec_mld.decode_ipv6(scapy_wire(ALL_NODES, inet6.ICMPv6MLQuery2(mrd=code, QRV=2, QQIC=125)))
        assert packet.message.max_resp_tenths == rfc_mrd(code) // 100, code
    # an MLDv1 query's delay is plain milliseconds, never float-coded
    packet = codec_mld.decode_ipv6(scapy_wire(ALL_NODES, inet6.ICMPv6MLQuery(mrd=0x9ABC)))
    assert packet.message == Query(1, 0x9ABC // 100, ANY6)


# --- the checksum -----------------------------------------------------------------------------

def test_without_src_the_checksum_is_left_to_the_raw_socket():
    data = codec_mld.encode_query_mld(2, 10000, 2, 125)
    assert data[2:4] == b"\x00\x00"
    assert data[:2] + data[4:] == codec_mld.encode_query_mld(2, 10000, 2, 125, src=SRC)[:2] + \
        codec_mld.encode_query_mld(2, 10000, 2, 125, src=SRC)[4:]
    for encoded in (codec_mld.encode_report_mld1(G1), codec_mld.encode_done(G1), codec_mld.encode_report_mld2(V2_RECORDS)):
        assert encoded[2:4] == b"\x00\x00"


def test_the_checksum_covers_the_pseudo_header():
    data = codec_mld.encode_query_mld(2, 10000, 2, 125, src=SRC)
    # the same bytes under another source or destination fail the check
    wire = bytearray(codec_mld.encode_ipv6(SRC, ALL_NODES, data))
    wire[23] ^= 0x01  # source fe80::9 -> fe80::8
    assert codec_mld.decode_ipv6(bytes(wire)) == Malformed("bad ICMPv6 checksum")
    wire[23] ^= 0x01
    wire[39] ^= 0x03  # destination ff02::1 -> ff02::2
    assert codec_mld.decode_ipv6(bytes(wire)) == Malformed("bad ICMPv6 checksum")
    # a checksum for an explicit destination is the one scapy computes for it
    assert codec_mld.encode_query_mld(2, 10000, 2, 125, src=SRC, dst="ff02::2") == scapy_wire(
        "ff02::2", inet6.ICMPv6MLQuery2(mrd=10000, QRV=2, QQIC=125))[48:]
    assert codec_mld.encode_report_mld1(G1, src=SRC, dst=ALL_NODES) == scapy_wire(
        ALL_NODES, inet6.ICMPv6MLReport(mladdr=G1))[48:]


def test_checksum_agrees_with_scapy_on_random_messages_of_every_parity():
    rng = random.Random(3810)
    for length in list(range(4, 70)) + [1231, 1232]:
        body = bytes([128, 0, 0, 0]) + bytes(rng.getrandbits(8) for _octet in range(length - 4))
        wire = codec_mld.encode_ipv6(SRC, G1, body)
        pkt = IPv6(wire)
        assert struct.unpack("!H", wire[50:52])[0] == inet6.in6_chksum(58, pkt, body), length
        assert codec_mld.decode_ipv6(wire).message == Unknown(128), length


# --- query_datagram: what the election sends --------------------------------------------------

@pytest.mark.parametrize("version, group, destination, expected", [
    (1, ANY6, ALL_NODES, Query(1, 100, ANY6)),
    (1, G1, G1, Query(1, 100, G1)),
    (2, ANY6, ALL_NODES, Query(2, 100, ANY6, qrv=3, qqi=125)),
    (2, G1, G1, Query(2, 100, G1, qrv=3, qqi=125)),
])
def test_general_queries_go_to_all_nodes_address_specific_ones_to_their_address(version, group, destination, expected):
    sent_to, data = codec_mld.query_datagram(version, 100, 3, 125.0, group)
    assert sent_to == destination
    assert len(data) == (24 if version == 1 else 28)
    assert data[2:4] == b"\x00\x00"  # the raw socket computes it
    # as the kernel sends it: checksum for our source and that destination
    assert codec_mld.decode_ipv6(codec_mld.encode_ipv6(SRC, sent_to, data)).message == expected


def test_query_datagram_takes_tenths_and_whole_seconds():
    assert codec_mld.query_datagram(2, 100, 2, 12.5)[1] == codec_mld.encode_query_mld(2, 10000, 2, 12)
    assert codec_mld.query_datagram(1, 655, 7, 300.0)[1] == codec_mld.encode_query_mld(1, 65500, 0, 0)
    # 100.1 s needs the MLDv2 float code (steps of 16 ms there): rounded down
    data = codec_mld.query_datagram(2, 1001, 2, 125)[1]
    assert codec_mld.decode_mrc(struct.unpack("!H", data[4:6])[0]) == 100096
    with pytest.raises(ValueError, match="0..65535"):
        codec_mld.query_datagram(1, 656, 2, 125)


def test_qqic_reuses_the_igmpv3_code():
    for interval in (0, 1, 125, 127, 128, 300, 31744):
        data = codec_mld.encode_query_mld(2, 10000, 2, interval)
        assert data[25] == codec.encode_float_code(interval)
    with pytest.raises(ValueError, match="outside 0..31744"):
        codec_mld.encode_query_mld(2, 10000, 2, 31745)


def test_qrv_field():
    for robustness, qrv in ((1, 1), (2, 2), (7, 7), (8, 0), (255, 0)):
        data = codec_mld.encode_query_mld(2, 10000, robustness, 125)
        assert data[24] == qrv == codec.qrv_field(robustness)
        assert inet6.ICMPv6MLQuery2(data).QRV == qrv


# --- the MLDv2 Maximum Response Code (RFC 3810 s.5.1.3) ---------------------------------------

REPRESENTABLE = sorted({rfc_mrd(code) for code in range(0x10000)})


def test_decode_matches_the_rfc_formula_for_every_code():
    for code in range(0x10000):
        assert codec_mld.decode_mrc(code) == rfc_mrd(code), code


def test_every_code_round_trips():
    assert len(REPRESENTABLE) == 0x10000  # no two codes mean the same delay
    for code in range(0x10000):
        assert codec_mld.encode_mrc(codec_mld.decode_mrc(code)) == code, code


def test_mrc_boundaries():
    assert codec_mld.encode_mrc(0) == 0
    assert codec_mld.encode_mrc(1) == 1
    assert codec_mld.encode_mrc(32767) == 0x7FFF  # the largest exact value
    assert codec_mld.encode_mrc(32768) == 0x8000  # exp 0, mant 0: 0x1000 << 3
    assert codec_mld.decode_mrc(0x8000) == 32768
    assert codec_mld.encode_mrc(32776) == 0x8001 and codec_mld.decode_mrc(0x8001) == 32776  # steps of 8
    assert codec_mld.encode_mrc(65528) == 0x8FFF  # the largest of exponent 0
    assert codec_mld.encode_mrc(65536) == 0x9000  # exponent 1: steps of 16
    assert codec_mld.decode_mrc(0xFFFF) == 8387584 == codec_mld.MAX_MRC_VALUE  # 8387.584 s
    assert codec_mld.encode_mrc(8387584) == 0xFFFF


@pytest.mark.parametrize("ms, code, decoded", [
    (32769, 0x8000, 32768), (32775, 0x8000, 32768),  # rounded down, never up
    (65535, 0x8FFF, 65528), (65551, 0x9000, 65536), (65552, 0x9001, 65552),
    (8387583, 0xFFFE, 8386560), (100000, None, None), (3276800, None, None),
])
def test_mrc_rounds_down_to_the_nearest_representable_value(ms, code, decoded):
    got = codec_mld.encode_mrc(ms)
    if code is not None:
        assert got == code
        assert codec_mld.decode_mrc(got) == decoded
    assert codec_mld.decode_mrc(got) == REPRESENTABLE[bisect.bisect_right(REPRESENTABLE, ms) - 1]


def test_mrc_rounding_and_monotonicity_over_a_wide_sample():
    rng = random.Random(2710)
    values = sorted(set(list(range(32700, 33000)) + list(range(65400, 65700)) + [
        rng.randrange(codec_mld.MAX_MRC_VALUE + 1) for _value in range(20000)] + [codec_mld.MAX_MRC_VALUE]))
    previous = -1
    for value in values:
        decoded = codec_mld.decode_mrc(codec_mld.encode_mrc(value))
        assert decoded <= value, value
        assert decoded == REPRESENTABLE[bisect.bisect_right(REPRESENTABLE, value) - 1], value
        assert decoded >= previous, value
        previous = decoded


@pytest.mark.parametrize("ms", [-1, codec_mld.MAX_MRC_VALUE + 1, 1 << 24])
def test_mrc_out_of_range_values_are_refused(ms):
    with pytest.raises(ValueError, match="outside 0..8387584"):
        codec_mld.encode_mrc(ms)


def test_query_encoder_uses_the_mrc_code():
    data = codec_mld.encode_query_mld(2, 40000, 2, 125)
    assert struct.unpack("!H", data[4:6])[0] == codec_mld.encode_mrc(40000) == 0x8388
    assert struct.unpack("!H", codec_mld.encode_query_mld(2, 32767, 2, 125)[4:6])[0] == 32767


# --- encoders refuse what cannot go on the wire ----------------------------------------------

def test_encoders_refuse_impossible_values():
    with pytest.raises(ValueError, match="0..65535 ms"):
        codec_mld.encode_query_mld(1, 65536, 2, 125)
    with pytest.raises(ValueError, match="0..65535 ms"):
        codec_mld.encode_query_mld(1, -1, 2, 125)
    with pytest.raises(ValueError, match="outside 0..8387584"):
        codec_mld.encode_query_mld(2, 8387585, 2, 125)
    with pytest.raises(ValueError, match="1 or 2"):
        codec_mld.encode_query_mld(3, 1000, 2, 125)
    with pytest.raises(ValueError, match="multiple of 4"):
        codec_mld.encode_report_mld2([GroupRecord(1, G1, (), b"abc")])
    with pytest.raises(OSError):
        codec_mld.encode_report_mld1("239.1.2.3")


def test_constants():
    assert (codec_mld.ICMPV6_PROTO, codec_mld.HOP_BY_HOP) == (58, 0)
    assert (codec_mld.ALL_NODES, codec_mld.ALL_MLDV2_ROUTERS, codec_mld.ANY6) == ("ff02::1", "ff02::16", "::")
    assert (codec_mld.TYPE_MLD_QUERY, codec_mld.TYPE_MLD_REPORT, codec_mld.TYPE_MLD_DONE,
            codec_mld.TYPE_MLDV2_REPORT) == (130, 131, 132, 143)
    # next header 0 (the kernel fills it), length 0, Router Alert 0 (MLD), PadN of 2 octets
    hbh = inet6.IPv6ExtHdrHopByHop(codec_mld.ROUTER_ALERT_HOPOPTS)
    assert (hbh.nh, hbh.len, len(codec_mld.ROUTER_ALERT_HOPOPTS)) == (0, 0, 8)
    assert [(o.otype, o.optlen) for o in hbh.options] == [(5, 2), (1, 0)] and hbh.options[0].value == 0


# --- IPv6 details ---------------------------------------------------------------------------

def test_packet_without_router_alert():
    data = codec_mld.encode_report_mld1(G1)
    wire = codec_mld.encode_ipv6(SRC, G1, data, router_alert=False)
    assert len(wire) == 64 and IPv6(wire).nh == 58
    assert wire == bytes(IPv6(src=SRC, dst=G1, hlim=1, tc=0xC0) / inet6.ICMPv6MLReport(mladdr=G1))
    assert codec_mld.decode_ipv6(wire) == Packet(SRC, G1, 1, False, Report(1, G1))


def test_hop_limit_is_reported_as_received():
    wire = codec_mld.encode_ipv6(SRC, ALL_NODES, codec_mld.encode_query_mld(2, 1000, 2, 125), hop_limit=255)
    assert codec_mld.decode_ipv6(wire).ttl == 255
    assert IPv6(wire).hlim == 255


def test_ethernet_padding_after_the_packet_is_ignored():
    wire = codec_mld.encode_ipv6(SRC, G1, codec_mld.encode_report_mld1(G1))
    assert codec_mld.decode_ipv6(wire + b"\x00" * 14) == codec_mld.decode_ipv6(wire)
    assert codec_mld.decode_ipv6(wire + b"\xde\xad" * 7).message == Report(1, G1)


def test_decoder_accepts_bytearray_and_memoryview():
    wire = codec_mld.encode_ipv6(SRC, G1, codec_mld.encode_report_mld1(G1))
    for view in (bytearray(wire), memoryview(wire)):
        assert codec_mld.decode_ipv6(view) == codec_mld.decode_ipv6(wire)


QUERY = inet6.ICMPv6MLQuery2(mrd=10000, QRV=2, QQIC=125)


@pytest.mark.parametrize("options, alert, ok", [
    ([inet6.RouterAlert(value=0)], True, True),
    ([inet6.Pad1(), inet6.RouterAlert(value=0), inet6.Pad1()], True, True),
    ([inet6.PadN(optdata=b"\x00" * 4), inet6.RouterAlert(value=0)], True, True),
    ([inet6.RouterAlert(value=1)], False, True),  # RSVP, not MLD (RFC 2711)
    ([inet6.PadN(optdata=b"\x00" * 4)], False, True),
    ([inet6.HBHOptUnknown(otype=0x1E, optdata=b"xy"), inet6.RouterAlert(value=0)], True, True),  # "skip" option
    ([inet6.HBHOptUnknown(otype=0x7E, optdata=b"xy"), inet6.RouterAlert(value=0)], True, False),  # "discard"
    ([inet6.HBHOptUnknown(otype=5, optdata=b"\x00\x00\x00"), inet6.PadN()], False, False),  # Router Alert of 3
])
def test_router_alert_found_among_other_hop_by_hop_options(options, alert, ok):
    wire = bytes(IPv6(src=SRC, dst=ALL_NODES, hlim=1) / inet6.IPv6ExtHdrHopByHop(options=options) / QUERY)
    packet = codec_mld.decode_ipv6(wire)
    assert isinstance(packet, Packet), packet
    assert (packet.router_alert, packet.options_ok) == (alert, ok)
    assert packet.message == Query(2, 100, ANY6, False, 2, 125)


def test_hop_by_hop_options_overrunning_their_header_are_malformed_options():
    wire = bytearray(codec_mld.encode_ipv6(SRC, ALL_NODES, codec_mld.encode_query_mld(2, 10000, 2, 125)))
    wire[46:48] = b"\x01\x05"  # PadN claims 5 octets, 2 are left
    packet = codec_mld.decode_ipv6(bytes(wire))
    assert (packet.router_alert, packet.options_ok) == (True, False)
    assert codec_mld.query_defect_mld(packet) == "malformed Hop-by-Hop options"


@pytest.mark.parametrize("headers", [
    [inet6.IPv6ExtHdrDestOpt()],
    [inet6.IPv6ExtHdrHopByHop(options=[inet6.RouterAlert(value=0)]), inet6.IPv6ExtHdrDestOpt(
        options=[inet6.PadN(optdata=b"\x00" * 10)])],
])
def test_other_extension_headers_are_walked(headers):
    packet = IPv6(src=SRC, dst=ALL_NODES, hlim=1)
    for header in headers:
        packet = packet / header
    result = codec_mld.decode_ipv6(bytes(packet / QUERY))
    assert result.message == Query(2, 100, ANY6, False, 2, 125)
    assert result.router_alert is isinstance(headers[0], inet6.IPv6ExtHdrHopByHop)


@pytest.mark.parametrize("layer, icmp_type", [
    (inet6.ICMPv6EchoRequest(), 128),
    (inet6.ICMPv6ND_NS(tgt=SRC), 135),
])
def test_other_icmpv6_types_are_unknown_not_malformed(layer, icmp_type):
    wire = bytes(IPv6(src=SRC, dst=ALL_NODES) / layer)
    assert codec_mld.decode_ipv6(wire) == Packet(SRC, ALL_NODES, 255 if icmp_type == 135 else 64, False,
                                                 Unknown(icmp_type))


def test_longer_v1_messages_and_v2_queries_are_accepted():
    # RFC 3810 s.8.1: a query of 28 octets or more is MLDv2; extra octets after the sources are ignored
    body = codec_mld.encode_query_mld(2, 10000, 2, 125) + b"\x01\x02\x03\x04"
    assert codec_mld.decode_ipv6(codec_mld.encode_ipv6(SRC, ALL_NODES, body)).message == Query(2, 100, ANY6, False, 2, 125)
    body = codec_mld.encode_report_mld1(G1) + b"\x00" * 4
    assert codec_mld.decode_ipv6(codec_mld.encode_ipv6(SRC, G1, body)).message == Report(1, G1)


# --- broken packets: Malformed with a reason, never an exception -------------------------------

GOOD = codec_mld.encode_ipv6(SRC, G1, codec_mld.encode_report_mld1(G1))  # 40 + 8 + 24


def icmp(data, dst=G1):
    """A packet around ICMPv6 ``data`` (checksum made right, so only the defect under test remains)."""
    return codec_mld.encode_ipv6(SRC, dst, data)


def set_octet(data, index, value):
    body = bytearray(data)
    body[index] = value
    return bytes(body)


def with_plen(wire, plen):
    return wire[:4] + struct.pack("!H", plen) + wire[6:]


def v2_head(count):
    return struct.pack("!BBHHH", 143, 0, 0, 0, count)


def v2_record(rtype, group, nsrc_claimed, sources=(), auxwords=0, aux=b""):
    import socket

    return struct.pack("!BBH16s", rtype, auxwords, nsrc_claimed, socket.inet_pton(socket.AF_INET6, group)) + b"".join(
        socket.inet_pton(socket.AF_INET6, s) for s in sources) + aux


QUERY2 = codec_mld.encode_query_mld(2, 10000, 2, 125)

MALFORMED = [
    ("empty", b"", "truncated IPv6 header (0 octets)"),
    ("39 octets", GOOD[:39], "truncated IPv6 header (39 octets)"),
    ("IPv4", codec.encode_ipv4("10.0.0.1", "224.0.0.1", codec.encode_query_v2(100)) + b"\x00" * 20,
     "not IPv6 (version 4)"),
    ("payload length beyond the buffer", with_plen(GOOD, 33), "IPv6 payload length 33 does not fit 32 octets"),
    ("packet truncated", GOOD[:60], "IPv6 payload length 32 does not fit 20 octets"),
    ("payload length 0 (a jumbogram)", with_plen(GOOD, 0), "truncated Hop-by-Hop header"),
    ("Hop-by-Hop header overruns", set_octet(GOOD, 41, 4), "Hop-by-Hop header of 40 octets overruns the payload"),
    ("Hop-by-Hop not first", bytes(IPv6(src=SRC, dst=G1, hlim=1) / inet6.IPv6ExtHdrDestOpt() / inet6.IPv6ExtHdrHopByHop()
                                   / inet6.ICMPv6MLReport(mladdr=G1)), "Hop-by-Hop header not first"),
    ("fragment", bytes(IPv6(src=SRC, dst=G1, hlim=1) / inet6.IPv6ExtHdrFragment() / inet6.ICMPv6MLReport(mladdr=G1)),
     "fragmented MLD"),
    ("routing header", bytes(IPv6(src=SRC, dst=G1, hlim=1) / inet6.IPv6ExtHdrRouting(addresses=[S1])
                             / inet6.ICMPv6MLReport(mladdr=G1)), "routing header in MLD"),
    ("no next header", set_octet(GOOD, 40, 59), "no next header: not ICMPv6"),
    ("UDP", set_octet(GOOD, 40, 17), "IPv6 next header 17 is not ICMPv6"),
    ("ESP", set_octet(GOOD, 6, 50), "IPv6 next header 50 is not ICMPv6"),
    ("destination options overrun", bytes(IPv6(src=SRC, dst=G1, nh=60, plen=8) / (b"\x3a\x05" + b"\x00" * 6)),
     "extension header 60 of 48 octets overruns the payload"),
    ("destination options truncated", bytes(IPv6(src=SRC, dst=G1, nh=60, plen=4) / b"\x3a\x00\x01\x00"),
     "truncated extension header 60"),
    ("ICMPv6 of 3 octets", with_plen(GOOD, 11)[:59], "truncated: 3 octets of ICMPv6"),
    ("bad checksum", set_octet(GOOD, 71, 2), "bad ICMPv6 checksum"),
    ("checksum field altered", set_octet(GOOD, 50, 0), "bad ICMPv6 checksum"),
    ("checksum left 0 (never filled in)", GOOD[:50] + b"\x00\x00" + GOOD[52:], "bad ICMPv6 checksum"),
    ("23-octet query", icmp(QUERY2[:23]), "query of 23 octets is no MLD version"),
    ("25-octet query", icmp(QUERY2[:25]), "query of 25 octets is no MLD version"),
    ("27-octet query", icmp(QUERY2[:27]), "query of 27 octets is no MLD version"),
    ("v2 query claims 2 sources, has 1", icmp(QUERY2[:26] + b"\x00\x02" + b"\x20" * 16),
     "query claims 2 sources, has room for 1"),
    ("v2 query claims 65535 sources", icmp(QUERY2[:26] + b"\xff\xff"), "query claims 65535 sources, has room for 0"),
    ("v1 report of 23 octets", icmp(codec_mld.encode_report_mld1(G1)[:23]), "truncated: 23 octets, MLDv1 needs 24"),
    ("v1 report for a unicast address", icmp(codec_mld.encode_report_mld1(G1)[:8] + b"\x20\x01" + b"\x00" * 14),
     "report or done for non-multicast address 2001::"),
    ("done for ::", icmp(codec_mld.encode_done(G1)[:8] + b"\x00" * 16), "report or done for non-multicast address ::"),
    ("v2 report of 7 octets", icmp(v2_head(0)[:7]), "truncated: 7 octets, an MLDv2 report needs 8"),
    ("v2 report claims 2 records, has 1", icmp(v2_head(2) + v2_record(4, G1, 0)),
     "v2 report claims 2 records, record 2 is truncated"),
    ("v2 report claims 65535 records", icmp(v2_head(65535)), "v2 report claims 65535 records, record 1 is truncated"),
    ("v2 record cut inside its header", icmp(v2_head(1) + v2_record(4, G1, 0)[:19]), "record 1 is truncated"),
    ("v2 record claims 5 sources, has 1", icmp(v2_head(1) + v2_record(1, G1, 5, [S1])),
     "v2 record 1 claims 5 sources, overruns the message"),
    ("v2 record aux data overruns", icmp(v2_head(1) + v2_record(1, G1, 0, auxwords=3, aux=b"abcd")),
     "v2 record 1 claims 0 sources, overruns the message"),
    ("v2 record type 0", icmp(v2_head(2) + v2_record(4, G1, 0) + v2_record(0, G2, 0)), "v2 record 2 has unknown type 0"),
    ("v2 record type 7", icmp(v2_head(1) + v2_record(7, G1, 0)), "v2 record 1 has unknown type 7"),
    ("v2 record for a unicast address", icmp(v2_head(1) + v2_record(4, "fe80::1", 0)),
     "v2 record 1 is for non-multicast group fe80::1"),
]


@pytest.mark.parametrize("name, data, reason", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_packets_are_dropped_with_a_reason(name, data, reason):
    result = codec_mld.decode_ipv6(data)
    assert isinstance(result, Malformed), result
    assert reason in result.reason


# --- the query rules (RFC 3810 s.5.1.14, 5.1.15) --------------------------------------------

def defect(src=SRC, dst=ALL_NODES, hop_limit=1, group=ANY6, router_alert=True, version=2):
    data = codec_mld.encode_query_mld(version, 10000, 2, 125, group)
    packet = codec_mld.decode_ipv6(codec_mld.encode_ipv6(src, dst, data, hop_limit=hop_limit,
                                                         router_alert=router_alert))
    assert isinstance(packet.message, Query)
    return codec_mld.query_defect_mld(packet)


def test_valid_queries_have_no_defect():
    assert defect() is None
    assert defect(version=1) is None
    assert defect(src="fe80::ffff:1:2:3") is None
    assert defect(src="febf:ffff::1") is None  # fe80::/10 ends at febf:...
    assert defect(group=G1, dst=G1) is None
    assert defect(router_alert=False) is None  # counts, as for IGMP


@pytest.mark.parametrize("kwargs, reason", [
    ({"hop_limit": 2}, "IPv6 Hop Limit 2, not 1"),
    ({"hop_limit": 255}, "IPv6 Hop Limit 255, not 1"),
    ({"hop_limit": 0}, "IPv6 Hop Limit 0, not 1"),
    ({"src": "2001:db8::9"}, "source 2001:db8::9 is not link-local (fe80::/10)"),
    ({"src": "fec0::9"}, "source fec0::9 is not link-local (fe80::/10)"),
    ({"src": "::"}, "source :: is not link-local (fe80::/10)"),
    ({"dst": "ff02::2"}, "general query sent to ff02::2, not ff02::1"),
    ({"dst": G1}, "general query sent to %s, not ff02::1" % G1),
    ({"group": G1, "dst": ALL_NODES}, "query for group %s sent to ff02::1" % G1),
    ({"group": G1, "dst": G3}, "query for group %s sent to %s" % (G1, G3)),
])
def test_query_defects(kwargs, reason):
    assert defect(**kwargs) == reason


def test_malformed_hop_by_hop_options_are_a_defect():
    wire = bytes(IPv6(src=SRC, dst=ALL_NODES, hlim=1) / inet6.IPv6ExtHdrHopByHop(
        options=[inet6.HBHOptUnknown(otype=0xC2, optdata=b"\x00" * 4)]) / QUERY)
    assert codec_mld.query_defect_mld(codec_mld.decode_ipv6(wire)) == "malformed Hop-by-Hop options"


# --- helpers used by the group table, the election and the logs ------------------------------

@pytest.mark.parametrize("group, unreported", [
    ("ff02::1", True), ("ff01::1", True), ("ff01::fb", True), ("ff00::1234", True), ("ff30::1", True),
    ("ff11::1", True), ("ff02::fb", False), ("ff02::2", False), ("ff02::16", False), ("ff02::1:ff00:9", False),
    ("ff05::1:3", False), ("ff0e::1", False), ("ff3e::8000:1", False), ("ff12::1", False),
    ("fe80::1", True), ("::", True), ("239.1.2.3", True), ("", True), ("not an address", True),
])
def test_is_unreported_group(group, unreported):
    assert codec_mld.is_unreported_group(group) is unreported


def test_ip6_key_is_numeric():
    assert codec_mld.ip6_key("fe80::9") < codec_mld.ip6_key("fe80::10") < codec_mld.ip6_key("fe80::100")
    # as strings the order is the other way round: ::10 < ::100 < ::9
    assert sorted(["fe80::9", "fe80::10", "fe80::100"]) == ["fe80::10", "fe80::100", "fe80::9"]
    assert sorted(["fe80::100", "fe80::9", "fe80::10"], key=codec_mld.ip6_key) == ["fe80::9", "fe80::10", "fe80::100"]
    assert codec_mld.ip6_key("fe80::1:0") > codec_mld.ip6_key("fe80::ffff")
    assert codec_mld.ip6_key("::") == 0 and codec_mld.ip6_key("ffff:" * 7 + "ffff") == 2 ** 128 - 1
    assert codec_mld.ip6_key("FE80::0009") == codec_mld.ip6_key("fe80::9") == codec_mld.ip6_key("fe80::9%eth0")
    for bad in ("10.0.0.1", "fe80::g", "", None):
        with pytest.raises(ValueError, match="not an IPv6 address"):
            codec_mld.ip6_key(bad)


def test_addresses_are_compressed_text():
    wire = codec_mld.encode_ipv6("FE80:0:0:0:0:0:0:0009", "FF02:0::1", codec_mld.encode_query_mld(2, 1000, 2, 125))
    packet = codec_mld.decode_ipv6(wire)
    assert (packet.src, packet.dst) == ("fe80::9", "ff02::1")


def test_is_general_for_both_families():
    assert Query(2, 100, ANY6).is_general and Query(2, 100, codec.ANY).is_general
    assert not Query(2, 100, G1).is_general and not Query(3, 100, "239.1.2.3").is_general


def test_describe_each_kind():
    assert codec_mld.describe_mld(Query(2, 100, ANY6, qrv=2, qqi=125)) == (
        "MLDv2 general query, max response 10.0 s, QRV 2, QQI 125 s")
    assert codec_mld.describe_mld(Query(1, 100, ANY6)) == "MLDv1 general query, max response 10.0 s"
    assert codec_mld.describe_mld(Query(1, 10, G1)) == "MLDv1 address-specific %s query, max response 1.0 s" % G1
    assert codec_mld.describe_mld(Query(2, 10, G1, True, 2, 125, (S1,))) == (
        "MLDv2 address-and-source-specific %s (1 sources) query, max response 1.0 s, QRV 2, QQI 125 s" % G1)
    assert codec_mld.describe_mld(Report(1, G1)) == "MLDv1 report for %s" % G1
    assert codec_mld.describe_mld(Leave(G1)) == "MLD done for %s" % G1
    assert codec_mld.describe_mld(V3Report(V2_RECORDS[:2])) == (
        "MLDv2 report: MODE_IS_INCLUDE %s, MODE_IS_EXCLUDE %s" % (G1, G2))
    assert codec_mld.describe_mld(Unknown(128)) == "ICMPv6 type 128"

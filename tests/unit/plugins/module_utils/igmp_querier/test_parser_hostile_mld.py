"""Property tests (hypothesis): the MLD parser never raises on hostile bytes.

decode_ipv6 gets arbitrary bytes, IPv6 packets with random mutations and truncations (with and
without a repaired ICMPv6 checksum, so that the defects reach the MLD parsing code), and must
always return a Packet or a Malformed with a specific reason (never the catch-all
"undecodable" the decoder keeps as defence in depth). Valid encodings always decode back to
what was encoded. The style of the IGMP parser's tests (test_parser_hostile.py).
"""

import socket
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.codec_mld import ANY6

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MESSAGES = (Query, Report, Leave, V3Report, Unknown)


def text6(value):
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


addresses = st.integers(0, 2 ** 128 - 1).map(text6)
link_locals = st.integers(0, 2 ** 64 - 1).map(lambda low: text6((0xFE80 << 112) | low))
groups = st.integers(0, 2 ** 120 - 1).map(lambda low: text6((0xFF << 120) | low))
float_codes = st.integers(0, 255).map(codec.decode_float_code)  # exactly representable QQI values
mrc_values = st.integers(0, 0xFFFF).map(codec_mld.decode_mrc)  # exactly representable delays (ms)


def v2_query():
    return st.builds(
        lambda ms, qrv, qqi, group: (codec_mld.encode_query_mld(2, ms, qrv, qqi, group),
                                     Query(2, ms // 100, group, False, qrv, qqi)),
        mrc_values, st.integers(0, 7), float_codes, st.one_of(st.just(ANY6), groups),
    )


records = st.builds(
    GroupRecord,
    st.integers(1, 6),
    groups,
    st.lists(addresses, max_size=4).map(tuple),
    st.integers(0, 3).flatmap(lambda words: st.binary(min_size=4 * words, max_size=4 * words)),
)

messages = st.one_of(
    st.builds(lambda ms, g: (codec_mld.encode_query_mld(1, ms, 2, 125, g), Query(1, ms // 100, g)),
              st.integers(0, 0xFFFF), st.one_of(st.just(ANY6), groups)),
    v2_query(),
    st.builds(lambda g: (codec_mld.encode_report_mld1(g), Report(1, g)), groups),
    st.builds(lambda g: (codec_mld.encode_done(g), Leave(g)), groups),
    st.lists(records, max_size=6).map(lambda rs: (codec_mld.encode_report_mld2(rs), V3Report(tuple(rs)))),
)


def check(result):
    """The contract: a Packet with a known message, or a Malformed with a reason."""
    assert isinstance(result, (Packet, Malformed)), result
    if isinstance(result, Malformed):
        assert isinstance(result.reason, str) and result.reason
        # a specific reason, not the catch-all for exceptions the explicit checks missed
        assert not result.reason.startswith("undecodable"), result
    else:
        assert isinstance(result.message, MESSAGES)
        assert isinstance(codec_mld.describe_mld(result.message), str)  # the daemon logs it
        if isinstance(result.message, Query):
            defect = codec_mld.query_defect_mld(result)  # the election asks it of every query
            assert defect is None or (isinstance(defect, str) and defect)
    return result


def icmp_offset(packet):
    """Where the ICMPv6 message starts, by the usual layouts (None: neither of them)."""
    if len(packet) < 40:
        return None
    if packet[6] == codec_mld.ICMPV6_PROTO:
        return 40
    if packet[6] == codec_mld.HOP_BY_HOP and len(packet) >= 48 and packet[40] == codec_mld.ICMPV6_PROTO:
        return 40 + (packet[41] + 1) * 8
    return None


def repair(packet):
    """Make the ICMPv6 checksum right again for the packet's own addresses and length."""
    data = bytearray(packet)
    offset = icmp_offset(data)
    if offset is None:
        return bytes(data)
    end = 40 + struct.unpack("!H", data[4:6])[0]
    if offset + 4 <= end <= len(data):
        body = bytearray(data[offset:end])
        body[2:4] = b"\x00\x00"
        pseudo = bytes(data[8:40]) + struct.pack("!IxxxB", len(body), codec_mld.ICMPV6_PROTO)
        data[offset + 2:offset + 4] = struct.pack("!H", codec.checksum(pseudo + bytes(body)))
    return bytes(data)


# --- arbitrary bytes ------------------------------------------------------------------------------

@FAST
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data):
    check(codec_mld.decode_ipv6(data))


@FAST
@given(st.binary(min_size=40, max_size=160), st.booleans())
def test_arbitrary_bytes_that_look_like_ipv6_mld_never_raise(data, hop_by_hop):
    # version 6, a payload length that fits, Hop-by-Hop to ICMPv6 (or ICMPv6 directly), an MLD
    # type and a right checksum: the fuzz gets past the IPv6 checks into the MLD parser
    packet = bytearray(data)
    packet[0] = 0x60 | (packet[0] & 0x0F)
    struct.pack_into("!H", packet, 4, len(packet) - 40)
    if hop_by_hop and len(packet) >= 48:
        packet[6] = codec_mld.HOP_BY_HOP
        packet[40] = codec_mld.ICMPV6_PROTO
        packet[41] %= 3
    else:
        packet[6] = codec_mld.ICMPV6_PROTO
    offset = icmp_offset(packet)
    if offset is not None and offset < len(packet):
        packet[offset] = (130, 131, 132, 143, 128)[packet[offset] % 5]
    check(codec_mld.decode_ipv6(repair(bytes(packet))))


@FAST
@given(st.sampled_from([130, 131, 132, 143, 128, 135, 0]), st.binary(max_size=120), link_locals, groups)
def test_icmpv6_bodies_with_good_checksums_never_raise(icmp_type, body, src, dst):
    # a right type and checksum, anything after: counts, lengths and groups are all hostile
    data = bytes([icmp_type]) + body[:1] + b"\x00\x00" + body[1:]
    result = check(codec_mld.decode_ipv6(codec_mld.encode_ipv6(src, dst, data)))
    if isinstance(result, Malformed):
        return
    message = result.message
    if isinstance(message, V3Report):
        # whatever it accepted fits in the octets it was given, and names multicast groups only
        size = 8 + sum(20 + 16 * len(r.sources) + len(r.aux) for r in message.records)
        assert size <= len(data)
        assert all(r.group.startswith("ff") for r in message.records)
    elif isinstance(message, Query):
        assert len(data) == 24 or len(data) >= 28 + 16 * len(message.sources)
        assert message.version == (1 if len(data) == 24 else 2)
    elif isinstance(message, (Report, Leave)):
        assert message.group.startswith("ff") and len(data) >= 24


# --- valid encodings round-trip -----------------------------------------------------------------

@FAST
@given(messages, addresses, addresses, st.integers(0, 255), st.booleans())
def test_valid_encodings_decode_back_equal(message, src, dst, hop_limit, router_alert):
    payload, expected = message
    packet = codec_mld.encode_ipv6(src, dst, payload, hop_limit=hop_limit, router_alert=router_alert)
    assert codec_mld.decode_ipv6(packet) == Packet(src, dst, hop_limit, router_alert, expected)
    # and re-encoding what was decoded gives the same octets
    if isinstance(expected, V3Report):
        assert codec_mld.encode_report_mld2(expected.records) == payload
    elif isinstance(expected, Query) and expected.version == 2:
        assert codec_mld.encode_query_mld(2, codec_mld.decode_mrc(struct.unpack("!H", payload[4:6])[0]),
                                          expected.qrv, expected.qqi, expected.group) == payload


@FAST
@given(messages, st.binary(max_size=40))
def test_link_layer_padding_never_changes_the_result(message, padding):
    packet = codec_mld.encode_ipv6("fe80::1", codec_mld.ALL_NODES, message[0])
    assert codec_mld.decode_ipv6(packet + padding) == codec_mld.decode_ipv6(packet)


# --- valid packets, broken on purpose -----------------------------------------------------------

mutation = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 400), st.integers(0, 255)),
    st.tuples(st.just("flip"), st.integers(0, 400), st.integers(0, 7)),
    st.tuples(st.just("cut"), st.integers(0, 400), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 400), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 400), st.just(0)),
)


def mutate(data, mutations):
    packet = bytearray(data)
    for kind, where, value in mutations:
        if not packet and kind != "insert":
            continue
        index = where % (len(packet) + (1 if kind == "insert" else 0))
        if kind == "set":
            packet[index] = value
        elif kind == "flip":
            packet[index] ^= 1 << value
        elif kind == "cut":
            del packet[index:]
        elif kind == "insert":
            packet.insert(index, value)
        else:
            del packet[index]
    return bytes(packet)


@FAST
@given(messages, st.lists(mutation, min_size=1, max_size=6))
def test_mutated_packets_never_raise(message, mutations):
    check(codec_mld.decode_ipv6(mutate(codec_mld.encode_ipv6("fe80::1", codec_mld.ALL_NODES, message[0]), mutations)))


@FAST
@given(messages, st.lists(mutation, min_size=1, max_size=6))
def test_mutated_packets_with_repaired_checksums_never_raise(message, mutations):
    packet = mutate(codec_mld.encode_ipv6("fe80::1", codec_mld.ALL_NODES, message[0]), mutations)
    check(codec_mld.decode_ipv6(repair(packet)))
    # the same mutations inside the ICMPv6 message only, its checksum repaired by the encoder
    check(codec_mld.decode_ipv6(codec_mld.encode_ipv6("fe80::1", codec_mld.ALL_NODES, mutate(message[0], mutations))))


@FAST
@given(messages, st.data())
def test_truncated_packets_are_malformed(message, data):
    packet = codec_mld.encode_ipv6("fe80::1", codec_mld.ALL_NODES, message[0])
    cut = data.draw(st.integers(0, len(packet) - 1))
    assert isinstance(codec_mld.decode_ipv6(packet[:cut]), Malformed)


@FAST
@given(st.lists(records, min_size=1, max_size=6), st.data())
def test_v2_reports_with_impossible_counts_are_malformed(rs, data):
    payload = bytearray(codec_mld.encode_report_mld2(rs))
    # claim more records than there are, or cut the message short (checksum repaired either way)
    if data.draw(st.booleans()):
        struct.pack_into("!H", payload, 6, data.draw(st.integers(len(rs) + 1, 0xFFFF)))
    else:
        del payload[data.draw(st.integers(9, len(payload) - 1)):]
    result = codec_mld.decode_ipv6(codec_mld.encode_ipv6("fe80::1", codec_mld.ALL_MLDV2_ROUTERS, bytes(payload)))
    assert isinstance(result, Malformed), result


@FAST
@given(messages, st.integers(0, 47), st.integers(1, 255))
def test_any_change_to_the_addresses_or_message_fails_the_checksum(message, index, flip):
    # the pseudo-header covers source and destination: a single changed octet anywhere in them
    # or in the message is caught (one octet changes the sum by a non-multiple of 0xffff)
    packet = bytearray(codec_mld.encode_ipv6("fe80::1", codec_mld.ALL_NODES, message[0]))
    position = (8 + index) if index < 32 else 48 + (index - 32) % len(message[0])
    if position in (50, 51):
        position = 48  # the checksum field itself: change the type instead
    packet[position] ^= flip
    result = codec_mld.decode_ipv6(bytes(packet))
    assert result == Malformed("bad ICMPv6 checksum"), (position, result)

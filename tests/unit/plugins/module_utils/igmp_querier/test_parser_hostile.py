"""Property tests (hypothesis): the parser never raises on hostile bytes.

decode_ipv4 and decode_igmp get arbitrary bytes, valid datagrams with random mutations and
truncations (with and without repaired checksums, so that the defects reach the deeper parsing
code), and must always return a Packet or a Malformed with a specific reason (never the
catch-all "undecodable" that the decoders keep as defence in depth). Valid encodings must
always decode back to what was encoded.
"""

import socket
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MESSAGES = (Query, Report, Leave, V3Report, Unknown)


def dotted(value):
    return socket.inet_ntoa(struct.pack("!I", value))


addresses = st.integers(0, 2 ** 32 - 1).map(dotted)
groups = st.integers(0xE0000000, 0xEFFFFFFF).map(dotted)
float_codes = st.integers(0, 255).map(codec.decode_float_code)  # exactly representable values


def v3_query():
    return st.builds(
        lambda mrt, qrv, qqi, group, sources, s: (
            codec.encode_query_v3(mrt, qrv, qqi, group, sources, s),
            Query(3, mrt, group, s, qrv, qqi, tuple(sources)),
        ),
        float_codes, st.integers(0, 7), float_codes, st.one_of(st.just(ANY), groups),
        st.lists(addresses, max_size=12), st.booleans(),
    )


records = st.builds(
    GroupRecord,
    st.integers(1, 6),
    groups,
    st.lists(addresses, max_size=6).map(tuple),
    st.integers(0, 3).flatmap(lambda words: st.binary(min_size=4 * words, max_size=4 * words)),
)

messages = st.one_of(
    st.just((codec.encode_query_v1(), Query(1, 0, ANY))),
    st.builds(lambda t, g: (codec.encode_query_v2(t, g), Query(2, t, g)),
              st.integers(1, 255), st.one_of(st.just(ANY), groups)),
    v3_query(),
    st.builds(lambda g: (codec.encode_report_v1(g), Report(1, g)), groups),
    st.builds(lambda g: (codec.encode_report_v2(g), Report(2, g)), groups),
    st.builds(lambda g: (codec.encode_leave(g), Leave(g)), groups),
    st.lists(records, max_size=8).map(lambda rs: (codec.encode_report_v3(rs), V3Report(tuple(rs)))),
)

ip_fields = st.fixed_dictionaries({
    "src": addresses,
    "dst": addresses,
    "ttl": st.integers(0, 255),
    "tos": st.integers(0, 255),
    "router_alert": st.booleans(),
    "ident": st.integers(0, 0xFFFF),
})


def check(result):
    """The contract: a Packet with a known message, or a Malformed with a reason."""
    assert isinstance(result, (Packet, Malformed)), result
    if isinstance(result, Malformed):
        assert isinstance(result.reason, str) and result.reason
        # a specific reason, not the catch-all for exceptions the explicit checks missed
        assert not result.reason.startswith("undecodable"), result
    else:
        assert isinstance(result.message, MESSAGES)
        assert isinstance(codec.describe(result.message), str)  # the daemon logs it
    return result


def check_igmp(result):
    assert isinstance(result, MESSAGES + (Malformed,)), result
    if isinstance(result, Malformed):
        assert result.reason and not result.reason.startswith("undecodable"), result
    else:
        assert isinstance(codec.describe(result), str)
    return result


def repair(datagram):
    """Make both checksums right again (when the header is long enough to have them)."""
    packet = bytearray(datagram)
    if len(packet) < 20:
        return bytes(packet)
    ihl = (packet[0] & 0x0F) * 4
    if 20 <= ihl <= len(packet):
        packet[10:12] = b"\x00\x00"
        packet[10:12] = struct.pack("!H", codec.checksum(bytes(packet[:ihl])))
        total = struct.unpack("!H", packet[2:4])[0]
        if ihl + 4 <= total <= len(packet):
            packet[ihl + 2:ihl + 4] = b"\x00\x00"
            packet[ihl + 2:ihl + 4] = struct.pack("!H", codec.checksum(bytes(packet[ihl:total])))
    return bytes(packet)


# --- arbitrary bytes ------------------------------------------------------------------------------

@FAST
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data):
    check(codec.decode_ipv4(data))
    check_igmp(codec.decode_igmp(data))


@FAST
@given(st.binary(min_size=20, max_size=120))
def test_arbitrary_bytes_that_look_like_ipv4_igmp_never_raise(data):
    # version 4, a plausible IHL, protocol 2, no fragment bits and a right checksum: the fuzz
    # gets past the IPv4 checks into the IGMP parser
    packet = bytearray(data)
    packet[0] = 0x40 | (5 + packet[0] % 3)
    struct.pack_into("!H", packet, 2, min(len(packet), max(20, struct.unpack("!H", packet[2:4])[0] % 160)))
    packet[6:8] = b"\x00\x00"
    packet[9] = codec.IGMP_PROTO
    check(codec.decode_ipv4(repair(bytes(packet))))


@FAST
@given(st.sampled_from([0x11, 0x12, 0x16, 0x17, 0x22, 0x30, 0x31, 0x13]), st.binary(max_size=80))
def test_igmp_bodies_with_good_checksums_never_raise(igmp_type, body):
    # a right type and checksum, anything after: counts, lengths and groups are all hostile
    data = bytearray(bytes([igmp_type]) + body[:1] + b"\x00\x00" + body[1:])
    data[2:4] = struct.pack("!H", codec.checksum(bytes(data)))
    result = check_igmp(codec.decode_igmp(bytes(data)))
    if isinstance(result, V3Report):
        # whatever it accepted fits in the octets it was given
        size = 8 + sum(8 + 4 * len(r.sources) + len(r.aux) for r in result.records)
        assert size <= len(data)
        assert all(224 <= int(r.group.split(".")[0]) <= 239 for r in result.records)
    if isinstance(result, Query) and result.version == 3:
        assert 12 + 4 * len(result.sources) <= len(data)


# --- valid encodings round-trip -----------------------------------------------------------------

@FAST
@given(messages, ip_fields)
def test_valid_encodings_decode_back_equal(message, ip):
    payload, expected = message
    assert codec.decode_igmp(payload) == expected
    datagram = codec.encode_ipv4(ip["src"], ip["dst"], payload, ttl=ip["ttl"], tos=ip["tos"],
                                 router_alert=ip["router_alert"], ident=ip["ident"])
    assert codec.decode_ipv4(datagram) == Packet(ip["src"], ip["dst"], ip["ttl"], ip["router_alert"], expected)
    # and re-encoding what was decoded gives the same octets
    if isinstance(expected, V3Report):
        assert codec.encode_report_v3(expected.records) == payload
    elif isinstance(expected, Query) and expected.version == 3:
        assert codec.encode_query_v3(expected.max_resp_tenths, expected.qrv, expected.qqi, expected.group,
                                     expected.sources, expected.suppress) == payload


@FAST
@given(messages, st.binary(max_size=40))
def test_link_layer_padding_never_changes_the_result(message, padding):
    datagram = codec.encode_ipv4("10.0.0.1", "224.0.0.1", message[0])
    assert codec.decode_ipv4(datagram + padding) == codec.decode_ipv4(datagram)


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
    datagram = mutate(codec.encode_ipv4("10.0.0.1", "224.0.0.1", message[0]), mutations)
    check(codec.decode_ipv4(datagram))
    check_igmp(codec.decode_igmp(mutate(message[0], mutations)))


@FAST
@given(messages, st.lists(mutation, min_size=1, max_size=6))
def test_mutated_packets_with_repaired_checksums_never_raise(message, mutations):
    datagram = mutate(codec.encode_ipv4("10.0.0.1", "224.0.0.1", message[0]), mutations)
    check(codec.decode_ipv4(repair(datagram)))
    body = bytearray(mutate(message[0], mutations))
    if len(body) >= 4:
        body[2:4] = b"\x00\x00"
        body[2:4] = struct.pack("!H", codec.checksum(bytes(body)))
    check_igmp(codec.decode_igmp(bytes(body)))


@FAST
@given(messages, st.data())
def test_truncated_datagrams_are_malformed(message, data):
    datagram = codec.encode_ipv4("10.0.0.1", "224.0.0.1", message[0])
    cut = data.draw(st.integers(0, len(datagram) - 1))
    assert isinstance(codec.decode_ipv4(datagram[:cut]), Malformed)


@FAST
@given(st.lists(records, min_size=1, max_size=6), st.data())
def test_v3_reports_with_impossible_counts_are_malformed(rs, data):
    payload = bytearray(codec.encode_report_v3(rs))
    # claim more records than there are, or cut the message short (checksum repaired either way)
    if data.draw(st.booleans()):
        struct.pack_into("!H", payload, 6, data.draw(st.integers(len(rs) + 1, 0xFFFF)))
    else:
        del payload[data.draw(st.integers(9, len(payload) - 1)):]
    payload[2:4] = b"\x00\x00"
    payload[2:4] = struct.pack("!H", codec.checksum(bytes(payload)))
    result = codec.decode_ipv4(codec.encode_ipv4("10.0.0.1", codec.IGMPV3_REPORT_DST, bytes(payload)))
    assert isinstance(result, Malformed), result


def rfc1071(data):
    """The RFC 1071 reference: add 16-bit words, fold the carries, complement."""
    if len(data) % 2:
        data += b"\x00"
    total = sum((data[i] << 8) | data[i + 1] for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@FAST
@given(st.one_of(st.binary(max_size=100), st.lists(st.sampled_from([b"\x00", b"\xff"]), max_size=64).map(b"".join)))
def test_checksum_matches_the_rfc1071_reference(data):
    assert codec.checksum(data) == rfc1071(data)
    # a message carrying its own checksum verifies, whatever the content (incl. all zeros/ones)
    if len(data) >= 8:
        body = bytearray(data)
        body[2:4] = b"\x00\x00"
        body[2:4] = struct.pack("!H", rfc1071(bytes(body)))
        assert codec.checksum(bytes(body)) == 0
        result = codec.decode_igmp(bytes(body))
        assert not (isinstance(result, Malformed) and result.reason == "bad IGMP checksum")
        body[5] ^= 0x10  # any single-bit change breaks it
        assert codec.decode_igmp(bytes(body)) == Malformed("bad IGMP checksum")

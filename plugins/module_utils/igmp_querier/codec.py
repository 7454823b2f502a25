# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""IGMP wire codec: encode queries and reports, decode every IGMP message a LAN carries.

Pure functions over bytes, no sockets. Used by the daemon, the modules and the tests.

RFC 1112 (IGMPv1), RFC 2236 (IGMPv2), RFC 3376 (IGMPv3), RFC 2113 (Router Alert),
RFC 1071 (checksum).

Decoding never raises on hostile input: :func:`decode_ipv4` returns a :class:`Malformed`
with a short reason instead, so that callers can drop and count.
"""

from __future__ import annotations

import socket
import struct
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

IGMP_PROTO = 2
ALL_HOSTS = "224.0.0.1"
ALL_ROUTERS = "224.0.0.2"
IGMPV3_REPORT_DST = "224.0.0.22"
ANY = "0.0.0.0"

TYPE_QUERY = 0x11
TYPE_V1_REPORT = 0x12
TYPE_V2_REPORT = 0x16
TYPE_V2_LEAVE = 0x17
TYPE_V3_REPORT = 0x22
#: Well-formed IGMP messages of only 4 octets (RFC 4286 Multicast Router Solicitation/Termination).
_SHORT_TYPES = (0x31, 0x32)

# IGMPv3 group record types (RFC 3376 s.4.2.12)
MODE_IS_INCLUDE = 1
MODE_IS_EXCLUDE = 2
CHANGE_TO_INCLUDE = 3
CHANGE_TO_EXCLUDE = 4
ALLOW_NEW_SOURCES = 5
BLOCK_OLD_SOURCES = 6
RECORD_TYPE_NAMES = {
    MODE_IS_INCLUDE: "MODE_IS_INCLUDE",
    MODE_IS_EXCLUDE: "MODE_IS_EXCLUDE",
    CHANGE_TO_INCLUDE: "CHANGE_TO_INCLUDE_MODE",
    CHANGE_TO_EXCLUDE: "CHANGE_TO_EXCLUDE_MODE",
    ALLOW_NEW_SOURCES: "ALLOW_NEW_SOURCES",
    BLOCK_OLD_SOURCES: "BLOCK_OLD_SOURCES",
}

ROUTER_ALERT = b"\x94\x04\x00\x00"
TOS_INTERNETWORK_CONTROL = 0xC0

#: Largest value the RFC 3376 floating-point code can carry (mant 15, exp 7).
MAX_FLOAT_CODE_VALUE = 31744
#: Largest IGMPv2 Max Response Time, in tenths of a second (one octet).
MAX_V2_RESPONSE_TENTHS = 255


class Malformed(NamedTuple):
    """A packet that was dropped; ``reason`` says why (for counters and debug logs)."""

    reason: str


class Query(NamedTuple):
    version: int  # 1, 2 or 3 (RFC 3376 s.7.1 length/code rules)
    max_resp_tenths: int  # decoded: tenths of a second (0 for IGMPv1)
    group: str  # "0.0.0.0" for a General Query
    suppress: bool = False  # IGMPv3 S flag
    qrv: int = 0  # IGMPv3 Querier's Robustness Variable (0: not given)
    qqi: int = 0  # IGMPv3 Querier's Query Interval, seconds (decoded QQIC; 0: not given)
    sources: Tuple[str, ...] = ()

    @property
    def is_general(self) -> bool:
        return self.group == ANY or self.group == "::"  # IGMP or MLD (codec_mld.ANY6)


class Report(NamedTuple):
    version: int  # 1 or 2
    group: str


class Leave(NamedTuple):
    group: str


class GroupRecord(NamedTuple):
    record_type: int
    group: str
    sources: Tuple[str, ...] = ()
    aux: bytes = b""


class V3Report(NamedTuple):
    records: Tuple[GroupRecord, ...]


class Unknown(NamedTuple):
    """A well-formed IGMP message of a type we do not act on (DVMRP, mtrace, ...)."""

    igmp_type: int


Message = Union[Query, Report, Leave, V3Report, Unknown]


class Packet(NamedTuple):
    """A decoded IPv4 datagram carrying IGMP."""

    src: str
    dst: str
    ttl: int
    router_alert: bool
    message: Message
    options_ok: bool = True  # the IP options parse (lengths fit, Router Alert is 4 octets)


class MalformedPacket(ValueError):
    """Raised internally by the decoders; public entry points turn it into :class:`Malformed`."""


_ntoa = socket.inet_ntoa
_aton = socket.inet_aton


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum of ``data`` (one's complement of the one's complement sum).

    The one's complement sum of 16-bit words is the data read as one big-endian integer modulo
    0xFFFF (2**16 == 1 mod 0xFFFF), except that a non-zero sum folds to 0xFFFF, never to 0.
    """
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    total = int.from_bytes(data, "big")
    if not total:
        return 0xFFFF
    return 0xFFFF - (total % 0xFFFF or 0xFFFF)


def float_encode(value: int, mant_bits: int) -> int:
    """The floating-point code of RFC 3376 s.4.1.1 (8 bits: ``mant_bits`` 4) and RFC 3810
    s.5.1.3 (16 bits: 12): below 1 << (mant_bits + 3) the value itself, above it 1, a 3-bit
    exponent and the mantissa, meaning (mant | 1 << mant_bits) << (exp + 3), rounded down to the
    nearest representable value (hosts never wait longer than asked). Raises ValueError beyond
    the largest value the code carries."""
    value = int(value)
    top = 1 << mant_bits
    largest = (2 * top - 1) << 10
    if value < 0 or value > largest:
        raise ValueError("value %d outside 0..%d" % (value, largest))
    if value < top << 3:
        return value
    exp = 0
    while (value >> (exp + 3)) > 2 * top - 1:
        exp += 1
    return top << 3 | (exp << mant_bits) | ((value >> (exp + 3)) & (top - 1))


def float_decode(code: int, mant_bits: int) -> int:
    """The value of a floating-point code (see :func:`float_encode`)."""
    top = 1 << mant_bits
    if code < top << 3:
        return code
    return ((code & (top - 1)) | top) << (((code >> mant_bits) & 0x07) + 3)


def encode_float_code(value: int) -> int:
    """An RFC 3376 Max Resp Code (tenths of a second) or QQIC (seconds), one octet."""
    return float_encode(value, 4)


def decode_float_code(code: int) -> int:
    """Decode an RFC 3376 Max Resp Code / QQIC octet."""
    return float_decode(code, 4)


def _finish(body: bytearray) -> bytes:
    struct.pack_into("!H", body, 2, 0)
    struct.pack_into("!H", body, 2, checksum(bytes(body)))
    return bytes(body)


def encode_query_v2(max_resp_tenths: int, group: str = ANY) -> bytes:
    """IGMPv2 Membership Query (8 octets); ``max_resp_tenths`` in 1..255."""
    if not 1 <= max_resp_tenths <= MAX_V2_RESPONSE_TENTHS:
        raise ValueError("IGMPv2 max response must be 1..255 tenths of a second")
    return _finish(bytearray(struct.pack("!BBH4s", TYPE_QUERY, max_resp_tenths, 0, _aton(group))))


def encode_query_v1() -> bytes:
    """IGMPv1 Host Membership Query (max response field zero). Used by tests and labs."""
    return _finish(bytearray(struct.pack("!BBH4s", TYPE_QUERY, 0, 0, _aton(ANY))))


def qrv_field(robustness: int) -> int:
    """The QRV field for a robustness variable: values above 7 are sent as 0 (RFC 3376 s.4.1.6)."""
    return robustness if 0 < robustness <= 7 else 0


def encode_query_v3(
    max_resp_tenths: int,
    robustness: int,
    query_interval: int,
    group: str = ANY,
    sources: Sequence[str] = (),
    suppress: bool = False,
) -> bytes:
    """IGMPv3 Membership Query (12 + 4N octets)."""
    flags = (0x08 if suppress else 0) | qrv_field(robustness)
    head = struct.pack(
        "!BBH4sBBH",
        TYPE_QUERY,
        encode_float_code(max_resp_tenths),
        0,
        _aton(group),
        flags,
        encode_float_code(query_interval),
        len(sources),
    )
    return _finish(bytearray(head + b"".join(_aton(s) for s in sources)))


def encode_query(version: int, max_resp_tenths: int, robustness: int, query_interval: float,
                 group: str = ANY) -> Tuple[str, bytes]:
    """The query a querier of IGMP ``version`` (2 or 3) sends: its destination and its bytes.

    A General Query goes to 224.0.0.1, a group-specific one to its group (RFC 2236 s.2, RFC 3376
    s.4.1.12). v3 carries QRV and QQIC (the interval whole seconds, float-coded); v2 has neither.
    """
    destination = ALL_HOSTS if group == ANY else group
    if version == 3:
        return destination, encode_query_v3(max_resp_tenths, robustness, int(query_interval), group)
    return destination, encode_query_v2(max_resp_tenths, group)


def encode_report_v1(group: str) -> bytes:
    return _finish(bytearray(struct.pack("!BBH4s", TYPE_V1_REPORT, 0, 0, _aton(group))))


def encode_report_v2(group: str) -> bytes:
    return _finish(bytearray(struct.pack("!BBH4s", TYPE_V2_REPORT, 0, 0, _aton(group))))


def encode_leave(group: str) -> bytes:
    return _finish(bytearray(struct.pack("!BBH4s", TYPE_V2_LEAVE, 0, 0, _aton(group))))


def encode_report_v3(records: Sequence[GroupRecord]) -> bytes:
    parts = [struct.pack("!BBHHH", TYPE_V3_REPORT, 0, 0, 0, len(records))]
    for rec in records:
        if len(rec.aux) % 4:
            raise ValueError("auxiliary data must be a multiple of 4 octets")
        parts.append(struct.pack("!BBH4s", rec.record_type, len(rec.aux) // 4, len(rec.sources), _aton(rec.group)))
        parts.extend(_aton(s) for s in rec.sources)
        parts.append(rec.aux)
    return _finish(bytearray(b"".join(parts)))


def encode_ipv4(
    src: str,
    dst: str,
    payload: bytes,
    ttl: int = 1,
    tos: int = TOS_INTERNETWORK_CONTROL,
    router_alert: bool = True,
    proto: int = IGMP_PROTO,
    ident: int = 0,
    options: Optional[bytes] = None,
) -> bytes:
    """A complete IPv4 datagram around ``payload`` (for raw injection in tests and benchmarks).

    ``options``: raw IP options (a multiple of 4 octets) instead of the Router Alert option."""
    if options is None:
        options = ROUTER_ALERT if router_alert else b""
    ihl = 5 + len(options) // 4
    header = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            tos,
            ihl * 4 + len(payload),
            ident & 0xFFFF,
            0,
            ttl,
            proto,
            0,
            _aton(src),
            _aton(dst),
        )
        + options
    )
    struct.pack_into("!H", header, 10, checksum(bytes(header)))
    return bytes(header) + payload


def _addresses(data: bytes, offset: int, count: int) -> Tuple[str, ...]:
    return tuple([_ntoa(data[i:i + 4]) for i in range(offset, offset + 4 * count, 4)])


_IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
_WORD = struct.Struct("!BBH")  # v3 query flags/QQIC/sources and v3 record type/aux/sources
_unpack_word = _WORD.unpack_from
_unpack_ipv4 = _IPV4_HEADER.unpack_from
# NamedTuple constructors run Python code; the decoders build their tuples directly (hot path).
_new = tuple.__new__


def decode_records(data: bytes, length: int, label: str, size: int, text: Callable[[bytes], str],
                   is_group: Callable[[int], bool]) -> Tuple[GroupRecord, ...]:
    """The group records of an IGMPv3 or MLDv2 report (RFC 3376 s.4.2, RFC 3810 s.5.2): the
    record count at octet 6, records from octet 8. ``size``: octets of an address (4, 16),
    ``text`` turns one into text, ``is_group`` tells a multicast address by its first octet;
    ``label`` ("v3", "v2") starts the reasons of :class:`MalformedPacket`."""
    count = (data[6] << 8) | data[7]
    records: List[GroupRecord] = []
    offset = 8
    for index in range(count):
        if offset + 4 + size > length:
            raise MalformedPacket("%s report claims %d records, record %d is truncated" % (label, count, index + 1))
        rtype, auxwords, nsrc = _unpack_word(data, offset)
        first = offset + 4 + size
        aux_start = first + size * nsrc
        end = aux_start + 4 * auxwords
        if end > length:
            raise MalformedPacket("%s record %d claims %d sources, overruns the message" % (label, index + 1, nsrc))
        if rtype not in RECORD_TYPE_NAMES:
            raise MalformedPacket("%s record %d has unknown type %d" % (label, index + 1, rtype))
        if not is_group(data[offset + 4]):
            group = text(data[offset + 4:first])
            raise MalformedPacket("%s record %d is for non-multicast group %s" % (label, index + 1, group))
        records.append(_new(GroupRecord, (
            rtype,
            text(data[offset + 4:first]),
            tuple([text(data[i:i + size]) for i in range(first, aux_start, size)]) if nsrc else (),
            bytes(data[aux_start:end]) if auxwords else b"",
        )))
        offset = end
    return tuple(records)


def _decode_igmp(data: bytes) -> Message:
    length = len(data)
    if length < 8:
        if length >= 4 and data[0] in _SHORT_TYPES and checksum(data) == 0:
            return Unknown(data[0])  # RFC 4286 router solicitation/termination: 4 octets
        raise MalformedPacket("truncated: %d octets, IGMP needs at least 8" % length)
    total = int.from_bytes(bytes(data) + b"\x00" if length & 1 else data, "big")
    if not total or total % 0xFFFF:  # i.e. checksum(data) != 0
        raise MalformedPacket("bad IGMP checksum")
    igmp_type = data[0]
    if igmp_type in (TYPE_V2_REPORT, TYPE_V1_REPORT, TYPE_V2_LEAVE):
        group = _ntoa(data[4:8])
        if not 224 <= data[4] <= 239:
            raise MalformedPacket("report or leave for non-multicast group %s" % group)
        if igmp_type == TYPE_V2_REPORT:
            return _new(Report, (2, group))
        if igmp_type == TYPE_V2_LEAVE:
            return _new(Leave, (group,))
        return _new(Report, (1, group))
    if igmp_type == TYPE_V3_REPORT:
        return _new(V3Report, (decode_records(data, length, "v3", 4, _ntoa, lambda first: 224 <= first <= 239),))
    if igmp_type == TYPE_QUERY:
        code = data[1]
        group = _ntoa(data[4:8])
        if length == 8:
            if code == 0:
                return _new(Query, (1, 0, group, False, 0, 0, ()))
            return _new(Query, (2, code, group, False, 0, 0, ()))
        if length < 12:
            # RFC 3376 s.7.1: queries of 9..11 octets are not a valid version
            raise MalformedPacket("query of %d octets is no IGMP version" % length)
        flags, qqic, nsrc = _unpack_word(data, 8)
        if 12 + 4 * nsrc > length:
            raise MalformedPacket("query claims %d sources, has room for %d" % (nsrc, (length - 12) // 4))
        return _new(Query, (
            3,
            decode_float_code(code),
            group,
            bool(flags & 0x08),
            flags & 0x07,
            decode_float_code(qqic),
            _addresses(data, 12, nsrc),
        ))
    return _new(Unknown, (igmp_type,))


def _is_multicast(first_octet: int) -> bool:
    return 224 <= first_octet <= 239


def decode_igmp(data: bytes) -> Union[Message, Malformed]:
    """Decode an IGMP message (the IP payload). Returns :class:`Malformed` instead of raising."""
    try:
        return _decode_igmp(data)
    except MalformedPacket as exc:
        return Malformed(str(exc))
    except (struct.error, IndexError, ValueError, OSError, TypeError) as exc:  # defence in depth
        return Malformed("undecodable: %s" % exc)


def decode_ipv4(packet: bytes) -> Union[Packet, Malformed]:
    """Decode an IPv4 datagram carrying IGMP. Returns :class:`Malformed` instead of raising."""
    try:
        length = len(packet)
        if length < 20:
            raise MalformedPacket("truncated IPv4 header (%d octets)" % length)
        vihl, _tos, total, _ident, frag, ttl, proto, _sum, src, dst = _unpack_ipv4(packet)
        if vihl >> 4 != 4:
            raise MalformedPacket("not IPv4 (version %d)" % (vihl >> 4))
        ihl = (vihl & 0x0F) * 4
        if ihl < 20 or ihl > length:
            raise MalformedPacket("bad IPv4 header length %d" % ihl)
        if total < ihl or total > length:
            raise MalformedPacket("IPv4 total length %d does not fit %d octets" % (total, length))
        header_sum = int.from_bytes(packet[:ihl], "big")  # ihl is even
        if not header_sum or header_sum % 0xFFFF:  # i.e. checksum(header) != 0
            raise MalformedPacket("bad IPv4 header checksum")
        if frag & 0x3FFF:
            raise MalformedPacket("fragmented IGMP")
        if proto != IGMP_PROTO:
            raise MalformedPacket("IP protocol %d is not IGMP" % proto)
        message = _decode_igmp(packet[ihl:total])
        if ihl == 20:
            alert, options_ok = False, True
        elif ihl == 24 and packet[20] == 0x94:
            alert, options_ok = True, packet[21] == 4  # the usual case: Router Alert is the only option
        else:
            alert, options_ok = _scan_options(packet[20:ihl])
        return _new(Packet, (_ntoa(src), _ntoa(dst), ttl, alert, message, options_ok))
    except MalformedPacket as exc:
        return Malformed(str(exc))
    except (struct.error, IndexError, ValueError, OSError, TypeError) as exc:  # defence in depth
        return Malformed("undecodable: %s" % exc)


def _scan_options(options: bytes) -> Tuple[bool, bool]:
    """(Router Alert present, the options are well formed) for an IPv4 options field."""
    alert = False
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:  # end of option list: the rest is padding
            return alert, True
        if kind == 1:  # no-op
            i += 1
            continue
        if i + 1 >= len(options):
            return alert, False
        size = options[i + 1]
        if size < 2 or i + size > len(options) or (kind == 0x94 and size != 4):
            return alert, False
        alert = alert or kind == 0x94
        i += size
    return alert, True


def query_defect(packet: Packet) -> Optional[str]:
    """Why hosts would not answer this query (None: they would), so it must not win an election.

    RFC 3376 s.4.1.12: General Queries go to 224.0.0.1, group-specific ones to their group (Linux's
    ip_mc_check_igmp() drops a General Query sent elsewhere); IGMP travels with IP TTL 1. A query
    without Router Alert still counts: some switches send it so.
    """
    return addressing_defect(packet, "IP TTL", "IP options", ALL_HOSTS)


def addressing_defect(packet: Packet, ttl_name: str, options_name: str, all_hosts: str) -> Optional[str]:
    """The rules both families share: TTL / Hop Limit 1, well-formed options, a General Query to
    ``all_hosts``, a group-specific one to its group (MLD adds its source rule, codec_mld)."""
    query = packet.message
    if packet.ttl != 1:
        return "%s %d, not 1" % (ttl_name, packet.ttl)
    if not packet.options_ok:
        return "malformed %s" % options_name
    if query.is_general:
        if packet.dst != all_hosts:
            return "general query sent to %s, not %s" % (packet.dst, all_hosts)
    elif packet.dst != query.group:
        return "query for group %s sent to %s" % (query.group, packet.dst)
    return None


def is_link_local_group(group: str) -> bool:
    """224.0.0.0/24: never reported by hosts' IGMP state, never snooped (RFC 4541 s.2.1.2)."""
    return group.startswith("224.0.0.")


def ip_key(address: str) -> int:
    """Numeric value of a dotted IPv4 address, for the lowest-address election."""
    return struct.unpack("!I", _aton(address))[0]


def describe(message: Message) -> str:
    """A short human description of a decoded message, for verbose logs."""
    if isinstance(message, Query):
        kind = "general" if message.is_general else "group-specific %s" % message.group
        text = "IGMPv%d %s query, max response %.1f s" % (message.version, kind, message.max_resp_tenths / 10.0)
        if message.version == 3:
            text += ", QRV %d, QQI %d s" % (message.qrv, message.qqi)
        return text
    if isinstance(message, Report):
        return "IGMPv%d report for %s" % (message.version, message.group)
    if isinstance(message, Leave):
        return "IGMPv2 leave for %s" % message.group
    if isinstance(message, V3Report):
        return "IGMPv3 report: " + ", ".join(
            "%s %s" % (RECORD_TYPE_NAMES[r.record_type], r.group) for r in message.records
        )
    return "IGMP type 0x%02x" % message.igmp_type

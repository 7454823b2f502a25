# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""MLD wire codec: encode MLDv1/v2 queries and reports, decode every MLD message a LAN carries.

The IPv6 sibling of :mod:`codec`, with the same message types (:class:`codec.Query`,
:class:`codec.Report`, :class:`codec.Leave` for Done, :class:`codec.V3Report`,
:class:`codec.Unknown`) and packet type (:class:`codec.Packet`, ``ttl`` being the Hop Limit), so
that the election and the group table take either family.

RFC 2710 (MLDv1), RFC 3810 (MLDv2), RFC 8200 (IPv6, extension headers, pseudo-header),
RFC 2711 (Router Alert), RFC 4443 (ICMPv6).

Decoding never raises on hostile input: :func:`decode_ipv6` returns a :class:`codec.Malformed`
with a short reason instead.
"""

from __future__ import annotations

import socket
import struct
from typing import Optional, Sequence, Tuple, Union

from . import codec
from .codec import (
    RECORD_TYPE_NAMES,
    GroupRecord,
    Leave,
    Malformed,
    MalformedPacket,
    Packet,
    Query,
    Report,
    Unknown,
    V3Report,
)

ICMPV6_PROTO = 58
HOP_BY_HOP = 0
ALL_NODES = "ff02::1"
ALL_ROUTERS6 = "ff02::2"
ALL_MLDV2_ROUTERS = "ff02::16"
ANY6 = "::"

TYPE_MLD_QUERY = 130
TYPE_MLD_REPORT = 131
TYPE_MLD_DONE = 132
TYPE_MLDV2_REPORT = 143

#: Hop-by-Hop header for IPV6_HOPOPTS: next header (the kernel fills it), length 0 (8 octets),
#: Router Alert (type 5, length 2, value 0: MLD, RFC 2711), PadN of 2 octets.
ROUTER_ALERT_HOPOPTS = b"\x00\x00\x05\x02\x00\x00\x01\x00"
#: The same header as it travels (next header ICMPv6): what every MLD speaker sends.
_USUAL_HOP_BY_HOP = bytes([ICMPV6_PROTO]) + ROUTER_ALERT_HOPOPTS[1:]

#: Largest Maximum Response Delay an MLDv2 code carries, in ms (exp 7, mant 0xfff).
MAX_MRC_VALUE = 0x1FFF << 10
#: Largest MLDv1 Maximum Response Delay, in ms (16 bits).
MAX_V1_RESPONSE_MS = 0xFFFF

_aton6 = socket.inet_pton
_AF6 = socket.AF_INET6
_ntop = socket.inet_ntop
# NamedTuple constructors run Python code; the decoder builds its tuples directly (hot path).
_new = tuple.__new__


def _pton(address: str) -> bytes:
    return _aton6(_AF6, address)


_ANY6_RAW = _pton(ANY6)
_ALL_NODES_RAW = _pton(ALL_NODES)
#: The destinations of nearly every MLD message, as text without an inet_ntop call (hot path).
_KNOWN_TEXT = {_pton(address): address for address in (ALL_NODES, ALL_ROUTERS6, ALL_MLDV2_ROUTERS)}


# --- Maximum Response Code (RFC 3810 s.5.1.3) ------------------------------------------------

def encode_mrc(ms: int) -> int:
    """The 16-bit Maximum Response Code for a delay of ``ms`` milliseconds (exact below 32768,
    floating point from there, rounded down: :func:`codec.float_encode` with 12 mantissa bits)."""
    try:
        return codec.float_encode(ms, 12)
    except ValueError:
        raise ValueError("max response %d ms outside 0..%d" % (int(ms), MAX_MRC_VALUE)) from None


def decode_mrc(code: int) -> int:
    """Milliseconds of a 16-bit MLDv2 Maximum Response Code."""
    return codec.float_decode(code, 12)


# --- encoding -------------------------------------------------------------------------------

def _pseudo_header(src: str, dst: str, length: int) -> bytes:
    """RFC 8200 s.8.1 pseudo-header for an upper-layer packet of ``length`` octets."""
    return _pton(src) + _pton(dst) + struct.pack("!IxxxB", length, ICMPV6_PROTO)


def _finish(body: bytearray, src: Optional[str], dst: str) -> bytes:
    """Fill the ICMPv6 checksum for ``src`` -> ``dst``; 0 without ``src`` (the raw socket fills it)."""
    struct.pack_into("!H", body, 2, 0)
    if src is not None:
        struct.pack_into("!H", body, 2, codec.checksum(_pseudo_header(src, dst, len(body)) + bytes(body)))
    return bytes(body)


def encode_query_mld(version: int, max_resp_ms: int, robustness: int, query_interval: float,
                     group: str = ANY6, src: Optional[str] = None, dst: Optional[str] = None) -> bytes:
    """An MLD Query (ICMPv6 type 130): v1 24 octets (RFC 2710 s.3), v2 28 octets without sources
    (RFC 3810 s.5.1), S flag 0. v2 carries QRV (:func:`codec.qrv_field`) and QQIC (the interval in
    whole seconds, the IGMPv3 float code); v1 has neither.

    ``dst`` defaults to ff02::1 for a general query, the group otherwise (the checksum needs it).
    """
    if dst is None:
        dst = ALL_NODES if _pton(group) == _ANY6_RAW else group
    if version == 1:
        if not 0 <= max_resp_ms <= MAX_V1_RESPONSE_MS:
            raise ValueError("MLDv1 max response must be 0..%d ms" % MAX_V1_RESPONSE_MS)
        body = struct.pack("!BBHHH16s", TYPE_MLD_QUERY, 0, 0, int(max_resp_ms), 0, _pton(group))
    elif version == 2:
        body = struct.pack("!BBHHH16sBBH", TYPE_MLD_QUERY, 0, 0, encode_mrc(max_resp_ms), 0, _pton(group),
                           codec.qrv_field(robustness), codec.encode_float_code(int(query_interval)), 0)
    else:
        raise ValueError("MLD version must be 1 or 2, not %r" % (version,))
    return _finish(bytearray(body), src, dst)


def query_datagram(version: int, max_resp_tenths: int, robustness: int, query_interval: float,
                   group: str = ANY6) -> Tuple[str, bytes]:
    """The query a querier of MLD ``version`` sends, like :func:`codec.encode_query`: its
    destination (ff02::1 for a general query, the group otherwise) and its ICMPv6 bytes, the
    checksum left to the raw socket. ``max_resp_tenths`` in tenths of a second."""
    destination = ALL_NODES if _pton(group) == _ANY6_RAW else group
    return destination, encode_query_mld(version, int(max_resp_tenths) * 100, robustness, query_interval, group)


def encode_report_mld1(group: str, src: Optional[str] = None, dst: Optional[str] = None) -> bytes:
    """MLDv1 Multicast Listener Report (type 131), sent to the group (RFC 2710 s.5)."""
    body = struct.pack("!BBHHH16s", TYPE_MLD_REPORT, 0, 0, 0, 0, _pton(group))
    return _finish(bytearray(body), src, group if dst is None else dst)


def encode_done(group: str, src: Optional[str] = None, dst: Optional[str] = None) -> bytes:
    """MLDv1 Multicast Listener Done (type 132), sent to ff02::2 (RFC 2710 s.5)."""
    body = struct.pack("!BBHHH16s", TYPE_MLD_DONE, 0, 0, 0, 0, _pton(group))
    return _finish(bytearray(body), src, ALL_ROUTERS6 if dst is None else dst)


def encode_report_mld2(records: Sequence[GroupRecord], src: Optional[str] = None,
                       dst: Optional[str] = None) -> bytes:
    """MLDv2 Multicast Listener Report (type 143), sent to ff02::16 (RFC 3810 s.5.2)."""
    parts = [struct.pack("!BBHHH", TYPE_MLDV2_REPORT, 0, 0, 0, len(records))]
    for rec in records:
        if len(rec.aux) % 4:
            raise ValueError("auxiliary data must be a multiple of 4 octets")
        parts.append(struct.pack("!BBH16s", rec.record_type, len(rec.aux) // 4, len(rec.sources), _pton(rec.group)))
        parts.extend(_pton(s) for s in rec.sources)
        parts.append(rec.aux)
    return _finish(bytearray(b"".join(parts)), src, ALL_MLDV2_ROUTERS if dst is None else dst)


def encode_ipv6(src: str, dst: str, payload: bytes, hop_limit: int = 1, router_alert: bool = True) -> bytes:
    """A complete IPv6 packet around the ICMPv6 ``payload`` (for raw injection in tests and
    benchmarks): traffic class 0xc0 like our sender, the Hop-by-Hop Router Alert header when
    ``router_alert``, the payload's checksum computed for ``src`` -> ``dst``."""
    body = bytearray(payload)
    if len(body) >= 4:
        struct.pack_into("!H", body, 2, 0)
        struct.pack_into("!H", body, 2, codec.checksum(_pseudo_header(src, dst, len(body)) + bytes(body)))
    hbh = _USUAL_HOP_BY_HOP if router_alert else b""
    first = (6 << 28) | (codec.TOS_INTERNETWORK_CONTROL << 20)
    header = struct.pack("!IHBB16s16s", first, len(hbh) + len(body), HOP_BY_HOP if router_alert else ICMPV6_PROTO,
                         hop_limit, _pton(src), _pton(dst))
    return header + hbh + bytes(body)


# --- decoding -------------------------------------------------------------------------------

_unpack_word = struct.Struct("!BBH").unpack_from  # record type / aux words / sources, flags / QQIC / sources
_FRAGMENT = 44
_NO_NEXT_HEADER = 59
_AH = 51
_ROUTING = 43
#: Extension headers passed over on the way to ICMPv6: destination options, mobility, HIP,
#: shim6 (RFC 8200 s.4, RFC 7045); their length octet counts 8-octet units after the first.
_SKIPPABLE = (60, 135, 139, 140)


def _scan_hop_by_hop(options: bytes) -> Tuple[bool, bool]:
    """(MLD Router Alert present, the options are well formed) for a Hop-by-Hop options area."""
    alert = False
    well_formed = True
    i = 0
    end = len(options)
    while i < end:
        kind = options[i]
        if kind == 0:  # Pad1
            i += 1
            continue
        if i + 1 >= end:
            return alert, False
        size = options[i + 1]
        if i + 2 + size > end:
            return alert, False
        if kind == 5:
            if size != 2:
                return alert, False
            alert = alert or options[i + 2:i + 4] == b"\x00\x00"
        elif kind != 1 and kind >> 6:
            # an unknown option whose action bits say "discard the packet" (RFC 8200 s.4.2)
            well_formed = False
        i += 2 + size
    return alert, well_formed


def _text6(raw: bytes) -> str:
    return _ntop(_AF6, raw)


def _decode_mld(data: bytes, length: int) -> codec.Message:
    """The ICMPv6 message ``data`` (checksum already verified) as a codec message."""
    icmp_type = data[0]
    if icmp_type == TYPE_MLDV2_REPORT:
        if length < 8:
            raise MalformedPacket("truncated: %d octets, an MLDv2 report needs 8" % length)
        return _new(V3Report, (codec.decode_records(data, length, "v2", 16, _text6, lambda first: first == 0xFF),))
    if icmp_type == TYPE_MLD_QUERY:
        if length < 24 or 24 < length < 28:
            # RFC 3810 s.8.1: 24 octets is MLDv1, 28 or more MLDv2, anything else is ignored
            raise MalformedPacket("query of %d octets is no MLD version" % length)
        code = (data[4] << 8) | data[5]
        group = _ntop(_AF6, data[8:24])
        if length == 24:
            return _new(Query, (1, code // 100, group, False, 0, 0, ()))
        flags, qqic, nsrc = _unpack_word(data, 24)
        if 28 + 16 * nsrc > length:
            raise MalformedPacket("query claims %d sources, has room for %d" % (nsrc, (length - 28) // 16))
        return _new(Query, (
            2,
            decode_mrc(code) // 100,
            group,
            bool(flags & 0x08),
            flags & 0x07,
            codec.decode_float_code(qqic),
            tuple([_ntop(_AF6, data[i:i + 16]) for i in range(28, 28 + 16 * nsrc, 16)]) if nsrc else (),
        ))
    if icmp_type in (TYPE_MLD_REPORT, TYPE_MLD_DONE):
        if length < 24:
            raise MalformedPacket("truncated: %d octets, MLDv1 needs 24" % length)
        if data[8] != 0xFF:
            raise MalformedPacket("report or done for non-multicast address %s" % _ntop(_AF6, data[8:24]))
        group = _ntop(_AF6, data[8:24])
        if icmp_type == TYPE_MLD_REPORT:
            return _new(Report, (1, group))
        return _new(Leave, (group,))
    return _new(Unknown, (icmp_type,))


def _walk(packet: bytes, next_header: int, end: int) -> Tuple[int, bool, bool]:
    """(offset of ICMPv6, MLD Router Alert present, Hop-by-Hop options well formed) past the
    extension headers that start at octet 40 with ``next_header``."""
    offset = 40
    alert, options_ok = False, True
    if next_header == HOP_BY_HOP:
        if offset + 8 > end:
            raise MalformedPacket("truncated Hop-by-Hop header")
        size = (packet[offset + 1] + 1) * 8
        if offset + size > end:
            raise MalformedPacket("Hop-by-Hop header of %d octets overruns the payload" % size)
        next_header = packet[offset]
        alert, options_ok = _scan_hop_by_hop(packet[offset + 2:offset + size])
        offset += size
    while next_header != ICMPV6_PROTO:
        if next_header in _SKIPPABLE or next_header == _AH:
            if offset + 8 > end:
                raise MalformedPacket("truncated extension header %d" % next_header)
            if next_header == _AH:
                size = (packet[offset + 1] + 2) * 4
            else:
                size = (packet[offset + 1] + 1) * 8
            if offset + size > end:
                raise MalformedPacket("extension header %d of %d octets overruns the payload" % (next_header, size))
            next_header = packet[offset]
            offset += size
        elif next_header == HOP_BY_HOP:
            raise MalformedPacket("Hop-by-Hop header not first (RFC 8200 s.4.1)")
        elif next_header == _ROUTING:
            # link-local MLD is never source-routed (and the checksum would be for another destination)
            raise MalformedPacket("routing header in MLD")
        elif next_header == _FRAGMENT:
            raise MalformedPacket("fragmented MLD")
        elif next_header == _NO_NEXT_HEADER:
            raise MalformedPacket("no next header: not ICMPv6")
        else:
            raise MalformedPacket("IPv6 next header %d is not ICMPv6" % next_header)
    return offset, alert, options_ok


def decode_ipv6(packet: bytes) -> Union[Packet, Malformed]:
    """Decode an IPv6 packet carrying ICMPv6 (MLD). Returns :class:`codec.Malformed` instead of raising.

    Walks the extension headers (Hop-by-Hop first, then destination options and the like within
    bounds), verifies the ICMPv6 checksum over the pseudo-header, decodes types 130/131/132/143
    and reports other ICMPv6 types as :class:`codec.Unknown`. Octets after the payload length
    (Ethernet padding) are ignored.
    """
    try:
        if not isinstance(packet, bytes):  # bytearray, memoryview: slices must be hashable below
            packet = bytes(packet)
        length = len(packet)
        if length < 40:
            raise MalformedPacket("truncated IPv6 header (%d octets)" % length)
        if packet[0] >> 4 != 6:
            raise MalformedPacket("not IPv6 (version %d)" % (packet[0] >> 4))
        end = 40 + ((packet[4] << 8) | packet[5])
        if end > length:
            raise MalformedPacket("IPv6 payload length %d does not fit %d octets" % (end - 40, length - 40))
        if end >= 52 and packet[6] == HOP_BY_HOP and packet[40:48] == _USUAL_HOP_BY_HOP:
            offset, alert, options_ok = 48, True, True  # the usual case
        else:
            offset, alert, options_ok = _walk(packet, packet[6], end)
        size = end - offset
        if size < 4:
            raise MalformedPacket("truncated: %d octets of ICMPv6" % size)
        data = packet[offset:end]
        # RFC 8200 s.8.1 checksum: the one's complement sum is the value modulo 0xffff (see
        # codec.checksum); the pseudo-header's next header 58 keeps the sum away from zero.
        if (int.from_bytes(packet[8:40], "big") + size + ICMPV6_PROTO
                + int.from_bytes(bytes(data) + b"\x00" if size & 1 else data, "big")) % 0xFFFF:
            raise MalformedPacket("bad ICMPv6 checksum")
        dst = packet[24:40]
        return _new(Packet, (_ntop(_AF6, packet[8:24]), _KNOWN_TEXT.get(dst) or _ntop(_AF6, dst), packet[7], alert,
                             _decode_mld(data, size), options_ok))
    except MalformedPacket as exc:
        return Malformed(str(exc))
    except (struct.error, IndexError, ValueError, OSError, TypeError) as exc:  # defence in depth
        return Malformed("undecodable: %s" % exc)


# --- rules and helpers ----------------------------------------------------------------------

def is_link_local(address: str) -> bool:
    """fe80::/10 (RFC 4291 s.2.5.6); False for anything that is not IPv6 text."""
    try:
        raw = _pton(address.split("%", 1)[0])
    except (OSError, ValueError, TypeError, AttributeError):
        return False
    return raw[0] == 0xFE and raw[1] & 0xC0 == 0x80


def query_defect_mld(packet: Packet) -> Optional[str]:
    """Why hosts would not answer this MLD query (None: they would), so it must not win an election.

    RFC 3810 s.5.1.14/5.1.15 and RFC 2710 s.3: Hop Limit 1, a link-local source, general queries
    to ff02::1, address-specific ones to their address. A query without Router Alert still
    counts, as for IGMP.
    """
    defect = codec.addressing_defect(packet, "IPv6 Hop Limit", "Hop-by-Hop options", ALL_NODES)
    if defect is None and not is_link_local(packet.src):
        return "source %s is not link-local (fe80::/10)" % packet.src
    return defect


def is_unreported_group(group: str) -> bool:
    """Groups hosts never report and snooping never tracks (RFC 3810 s.6): ff02::1 and the
    reserved and interface-local scopes (ffx0::, ffx1::). Anything that is not a multicast
    address is not a group either. Link-scope groups (ff02::fb, ...) are reported."""
    try:
        raw = _pton(group)
    except (OSError, ValueError, TypeError):
        return True
    return raw[0] != 0xFF or (raw[1] & 0x0F) in (0, 1) or raw == _ALL_NODES_RAW


def ip6_key(address: str) -> int:
    """Numeric value of an IPv6 address (fe80::9 < fe80::10 < fe80::100), for the election.

    Raises ValueError for text that is not an IPv6 address; a zone (``%eth0``) is ignored."""
    try:
        return int.from_bytes(_pton(address.split("%", 1)[0]), "big")
    except (OSError, AttributeError, TypeError) as exc:
        raise ValueError("not an IPv6 address: %r" % (address,)) from exc


def describe_mld(message: codec.Message) -> str:
    """A short human description of a decoded MLD message, for verbose logs."""
    if isinstance(message, Query):
        if message.is_general:
            kind = "general"
        elif message.sources:
            kind = "address-and-source-specific %s (%d sources)" % (message.group, len(message.sources))
        else:
            kind = "address-specific %s" % message.group
        text = "MLDv%d %s query, max response %.1f s" % (message.version, kind, message.max_resp_tenths / 10.0)
        if message.version == 2:
            text += ", QRV %d, QQI %d s" % (message.qrv, message.qqi)
        return text
    if isinstance(message, Report):
        return "MLDv1 report for %s" % message.group
    if isinstance(message, Leave):
        return "MLD done for %s" % message.group
    if isinstance(message, V3Report):
        return "MLDv2 report: " + ", ".join(
            "%s %s" % (RECORD_TYPE_NAMES[r.record_type], r.group) for r in message.records
        )
    return "ICMPv6 type %d" % message.igmp_type

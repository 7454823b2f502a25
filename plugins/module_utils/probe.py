# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The multicast probe: datagram format and receive-side statistics (used by ``igmp_probe``).

Sans-I/O: bytes and times in, values out; no socket and no clock here.

A probe datagram is a UDP payload of ``payload_size`` octets (network byte order)::

    0      4    5     6        8          12        16          24                 56
    +------+----+-----+--------+----------+---------+-----------+------------------+---------+
    | mIGp | v1 | len | flags  | sequence | total   | send time | probe id (ASCII, | padding |
    |      |    | id  | (zero) | (u32)    | (u32)   | (f64, s)  |  zero padded 32) | (zero)  |
    +------+----+-----+--------+----------+---------+-----------+------------------+---------+

``sequence`` counts from 0, ``total`` is the number of probes the sender will send, ``send
time`` is the sender's wall clock (seconds since the epoch).
"""

from __future__ import annotations

import ipaddress
import math
import re
import struct
from typing import Any, Dict, NamedTuple, Optional, Tuple

MAGIC = b"mIGp"
FORMAT_VERSION = 1
ID_FIELD = 32
_HEADER = struct.Struct("!4sBBHIId%ds" % ID_FIELD)
HEADER_SIZE = _HEADER.size  # 56
#: Largest payload: a 9000-octet jumbo frame minus the IPv4 (IPv6) and UDP headers.
MAX_PAYLOAD_SIZE = 8972
MAX_PAYLOAD_SIZE6 = 8952
DEFAULT_PAYLOAD_SIZE = 64
MAX_SEQUENCE = 0xFFFFFFFF
#: Latest send time a probe may carry (seconds since the epoch, the year 5138): keeps the delay
#: figures finite whatever a datagram claims.
MAX_SENT_TIME = 1e11
#: Most probes one sender announces (``igmp_probe``'s largest count): a probe numbers itself
#: 0..total-1 within it, so a receiver's record of one probe id is at most 12.5 kB.
MAX_TOTAL = 100000
#: Probe ids and source addresses a receiver keeps apart; probes of further ids count as
#: ``other_probes``, further sources are not listed. Datagrams can claim any id and source.
MAX_PROBE_IDS = 64
MAX_SOURCES = 64

_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,%d}$" % ID_FIELD)


class ProbeError(ValueError):
    """An argument that cannot become a probe datagram."""


class Probe(NamedTuple):
    probe_id: str
    sequence: int
    total: int
    sent: float  # the sender's wall clock, seconds since the epoch
    size: int  # octets of UDP payload received


def valid_probe_id(probe_id: str) -> bool:
    """1..32 characters of letters, digits, ``.``, ``_``, ``:`` and ``-``."""
    return bool(_ID_PATTERN.match(probe_id or ""))


def encode(probe_id: str, sequence: int, total: int, sent: float, payload_size: int = DEFAULT_PAYLOAD_SIZE) -> bytes:
    """One probe datagram of exactly ``payload_size`` octets."""
    if not valid_probe_id(probe_id):
        raise ProbeError("probe id %r: use 1..%d letters, digits, '.', '_', ':' or '-'" % (probe_id, ID_FIELD))
    if not 0 <= sequence <= MAX_SEQUENCE or not 0 <= total <= MAX_SEQUENCE:
        raise ProbeError("sequence %d / total %d outside 0..%d" % (sequence, total, MAX_SEQUENCE))
    if not HEADER_SIZE <= payload_size <= MAX_PAYLOAD_SIZE:
        raise ProbeError("payload size %d outside %d..%d" % (payload_size, HEADER_SIZE, MAX_PAYLOAD_SIZE))
    raw_id = probe_id.encode("ascii")
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, len(raw_id), 0, sequence, total, float(sent), raw_id)
    return header + b"\x00" * (payload_size - HEADER_SIZE)


def decode(data: bytes) -> Optional[Probe]:
    """The probe in a UDP payload, or None when it is not one of ours (never raises)."""
    if len(data) < HEADER_SIZE or data[:4] != MAGIC:
        return None
    magic, version, id_len, _flags, sequence, total, sent, raw_id = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION or not 1 <= id_len <= ID_FIELD or any(raw_id[id_len:]):
        return None
    try:
        probe_id = raw_id[:id_len].decode("ascii")
    except UnicodeDecodeError:
        return None
    if not valid_probe_id(probe_id) or not 0.0 <= sent <= MAX_SENT_TIME:  # NaN, inf, absurd: not ours
        return None
    if not sequence < total <= MAX_TOTAL:
        return None
    return Probe(probe_id, sequence, total, sent, len(data))


class ReceiveStats:
    """What a receiver saw: feed every datagram with :meth:`add`, read :meth:`summary`.

    A probe is identified by (probe id, sequence). A second copy is a duplicate; a probe whose
    sequence is below the highest already received for its probe id arrived reordered. With a
    ``probe_id`` filter, probes of other ids are counted in ``other_probes`` and otherwise ignored;
    so are probes of ids beyond the first :data:`MAX_PROBE_IDS`. Memory stays bounded whatever
    arrives: one bit per sequence number per id, at most :data:`MAX_SOURCES` sources.
    """

    def __init__(self, probe_id: Optional[str] = None) -> None:
        self.probe_id = probe_id
        self.received = 0  # distinct probes
        self.duplicated = 0
        self.reordered = 0
        self.foreign = 0  # datagrams on the port that are not probes
        self.other_probes = 0  # probes of other probe ids (with a filter)
        self.first_arrival: Optional[float] = None
        self.last_arrival: Optional[float] = None
        self._seen: Dict[str, bytearray] = {}  # probe id -> bitmap of the sequences received
        self._highest: Dict[str, int] = {}
        self._totals: Dict[str, int] = {}
        self._sources: Dict[str, int] = {}
        # running figures, not a list: a receiver may hear probes for a day
        self._delay_count = 0
        self._delay_sum = 0.0
        self._delay_min = math.inf
        self._delay_max = -math.inf

    def add(self, data: bytes, source: str, arrival: float) -> Optional[Probe]:
        """Account one datagram from ``source`` that arrived at ``arrival`` (wall clock)."""
        probe = decode(data)
        if probe is None:
            self.foreign += 1
            return None
        if self.probe_id is not None and probe.probe_id != self.probe_id:
            self.other_probes += 1
            return None
        seen = self._seen.get(probe.probe_id)
        if seen is None:
            if len(self._seen) >= MAX_PROBE_IDS:
                self.other_probes += 1
                return None
            seen = self._seen[probe.probe_id] = bytearray()
        octet, bit = divmod(probe.sequence, 8)
        if octet >= len(seen):
            seen.extend(bytes(octet + 1 - len(seen)))
        if seen[octet] & (1 << bit):
            self.duplicated += 1
            return probe
        seen[octet] |= 1 << bit
        self.received += 1
        highest = self._highest.get(probe.probe_id)
        if highest is not None and probe.sequence < highest:
            self.reordered += 1
        else:
            self._highest[probe.probe_id] = probe.sequence
        self._totals[probe.probe_id] = max(self._totals.get(probe.probe_id, 0), probe.total)
        if source in self._sources or len(self._sources) < MAX_SOURCES:
            self._sources[source] = self._sources.get(source, 0) + 1
        delay = arrival - probe.sent
        self._delay_count += 1
        self._delay_sum += delay
        self._delay_min = min(self._delay_min, delay)
        self._delay_max = max(self._delay_max, delay)
        if self.first_arrival is None:
            self.first_arrival = arrival
        self.last_arrival = arrival
        return probe

    def expected(self, count: Optional[int] = None) -> int:
        """``count`` when the receiver was told; else what the senders announced."""
        if count is not None:
            return count
        return sum(self._totals.values())

    def summary(self, count: Optional[int] = None) -> Dict[str, Any]:
        expected = self.expected(count)
        lost = max(0, expected - self.received)
        return {
            "received": self.received,
            "expected": expected,
            "lost": lost,
            "loss_percent": round(100.0 * lost / expected, 2) if expected else None,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "foreign": self.foreign,
            "other_probes": self.other_probes,
            "sources": sorted(self._sources, key=_address_key),
            "first_arrival": self.first_arrival,
            "last_arrival": self.last_arrival,
            "probe_ids": sorted(self._seen),
            "delay": {
                "min": round(self._delay_min, 6),
                "mean": round(self._delay_sum / self._delay_count, 6),
                "max": round(self._delay_max, 6),
            } if self._delay_count else None,
        }


def _address_key(address: str) -> Tuple[int, int]:
    """IPv4 sources first, then IPv6, each numerically (text sorts fe80::10 before fe80::9)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return (7, 0)
    return (parsed.version, int(parsed))

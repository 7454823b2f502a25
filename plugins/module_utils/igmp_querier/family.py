# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The address families a querier serves: IGMP over IPv4 and MLD over IPv6.

One :class:`Family` value holds everything that differs between them (the codec's functions,
the version that carries QRV/QQIC, the groups hosts never report, the address hosts' queries
come from); :class:`election.Querier` and the daemon are written once against it.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Tuple

from . import codec, codec_mld


class Family(NamedTuple):
    name: str  # "IGMP", "MLD": in log lines and the state file
    ip: str  # "IPv4", "IPv6"
    address_label: str  # what the querier's source address is, for "no ... on eth0" lines
    any: str  # the unspecified address: group of a General Query
    full_version: int  # the version whose queries carry QRV and QQIC (IGMPv3, MLDv2)
    versions: Tuple[int, ...]  # every version a host may send
    version_field: str  # the Timers field (and state key) holding the version we send
    key: Callable[[str], int]  # numeric value of an address: the lowest wins the election
    encode_query: Callable[..., Tuple[str, bytes]]  # (version, max_resp_tenths, robustness, interval, group)
    query_defect: Callable[..., Optional[str]]  # why hosts would not answer a decoded query
    unreported_group: Callable[[str], bool]  # groups hosts never report and switches never snoop
    decode: Callable[[bytes], object]  # one frame -> codec.Packet or codec.Malformed
    describe: Callable[[object], str]  # a decoded message in words, for verbose logs
    sockaddr: Callable[[str, int], tuple]  # (destination, interface index) -> sendto() address

    def version(self, timers) -> int:
        """The version of the queries we send with ``timers``."""
        return getattr(timers, self.version_field)


IGMP = Family(
    name="IGMP", ip="IPv4", address_label="IPv4 address", any=codec.ANY, full_version=3, versions=(1, 2, 3),
    version_field="igmp_version", key=codec.ip_key, encode_query=codec.encode_query,
    query_defect=codec.query_defect, unreported_group=codec.is_link_local_group, decode=codec.decode_ipv4,
    describe=codec.describe, sockaddr=lambda destination, index: (destination, 0),
)

MLD = Family(
    name="MLD", ip="IPv6", address_label="usable IPv6 link-local address", any=codec_mld.ANY6, full_version=2,
    versions=(1, 2), version_field="mld_version", key=codec_mld.ip6_key, encode_query=codec_mld.query_datagram,
    query_defect=codec_mld.query_defect_mld, unreported_group=codec_mld.is_unreported_group,
    decode=codec_mld.decode_ipv6, describe=codec_mld.describe_mld,
    sockaddr=lambda destination, index: (destination, 0, 0, index),
)

"""Parser throughput: how many IGMP datagrams per second decode_ipv4 takes apart.

Target: over 200,000 packets/s on the realistic mix (one core, CPython), so that a flood of
membership reports never starves the query schedule.

The mix is what a busy LAN's querier hears, as the AF_PACKET receive path delivers it (IPv4
datagrams with Router Alert, small ones with Ethernet padding up to 46 octets):
  45 % IGMPv2 reports, 20 % IGMPv3 reports with 1-4 group records (some with sources),
  15 % queries (v2/v3 general, group-specific), 10 % v2 leaves, 5 % v1 reports,
   5 % malformed (bad checksums, truncation, impossible counts, non-IGMP).

The MLD figure beside it: codec_mld.decode_ipv6 on the same kind of mix in IPv6 (every packet
with the Hop-by-Hop Router Alert header, checksums over the pseudo-header):
  45 % MLDv2 reports with one record (what hosts send for each group), 20 % MLDv2 reports with
  1-4 records (some with sources), 15 % queries (v2/v1 general, address-specific), 10 % done,
   5 % MLDv1 reports, 5 % malformed (bad checksums, truncation, impossible counts, not ICMPv6).
Same target.

Usage: python3 -m benchmarks.bench_parser [--seconds S] [--rounds N]
Prints one line per measurement: packets/s of wall-clock time, the best of N short rounds (like
timeit: the best round is the one least disturbed by other load), the median round, and packets per
CPU-second of this process. The target is judged on the CPU figure: it is the parser's own speed on
one core, and it stays meaningful on a shared machine where other jobs take the core away (the load
average is printed for that reason); the wall-clock figure then only shows what share we got.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import struct
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))

from igmp_querier import codec, codec_mld  # noqa: E402  (path set up just above)
from igmp_querier.codec import GroupRecord  # noqa: E402

TARGET = 200000
ETHERNET_MIN_PAYLOAD = 46


def host(rng):
    return "192.168.%d.%d" % (rng.randint(0, 3), rng.randint(2, 254))


def group(rng):
    return "239.%d.%d.%d" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))


def frame(src, dst, payload):
    datagram = codec.encode_ipv4(src, dst, payload)
    return datagram + b"\x00" * max(0, ETHERNET_MIN_PAYLOAD - len(datagram))


def v2_report(rng):
    g = group(rng)
    return frame(host(rng), g, codec.encode_report_v2(g))


def v1_report(rng):
    g = group(rng)
    return frame(host(rng), g, codec.encode_report_v1(g))


def v3_report(rng):
    records = []
    for _record in range(rng.randint(1, 4)):
        rtype = rng.choice([codec.MODE_IS_EXCLUDE, codec.CHANGE_TO_EXCLUDE, codec.MODE_IS_INCLUDE,
                            codec.ALLOW_NEW_SOURCES, codec.CHANGE_TO_INCLUDE])
        sources = tuple(host(rng) for _source in range(rng.choice([0, 0, 0, 1, 2])))
        if rtype in (codec.MODE_IS_INCLUDE, codec.ALLOW_NEW_SOURCES) and not sources:
            sources = (host(rng),)
        records.append(GroupRecord(rtype, group(rng), sources))
    return frame(host(rng), codec.IGMPV3_REPORT_DST, codec.encode_report_v3(records))


def query(rng):
    kind = rng.random()
    if kind < 0.5:
        return frame("192.168.0.1", codec.ALL_HOSTS, codec.encode_query_v2(100))
    if kind < 0.8:
        return frame("192.168.0.1", codec.ALL_HOSTS, codec.encode_query_v3(100, 2, 125))
    g = group(rng)
    return frame("192.168.0.1", g, codec.encode_query_v2(10, g))


def leave(rng):
    return frame(host(rng), codec.ALL_ROUTERS, codec.encode_leave(group(rng)))


def malformed(rng):
    good = bytearray(rng.choice([v2_report, v3_report, query])(rng))
    kind = rng.randrange(4)
    if kind == 0:  # bad IGMP checksum: a group address octet changed in transit
        good[28] ^= 0x5A
    elif kind == 1:  # truncated in transit
        return bytes(good[:rng.randint(10, 27)])
    elif kind == 2:  # a v3 report claiming 200 records
        payload = bytearray(codec.encode_report_v3([GroupRecord(codec.CHANGE_TO_EXCLUDE, group(rng))]))
        struct.pack_into("!H", payload, 6, 200)
        struct.pack_into("!H", payload, 2, 0)
        struct.pack_into("!H", payload, 2, codec.checksum(bytes(payload)))
        return frame(host(rng), codec.IGMPV3_REPORT_DST, bytes(payload))
    else:  # not IGMP at all (UDP to mDNS)
        return codec.encode_ipv4(host(rng), "224.0.0.251", b"\x14\xe9\x14\xe9\x00\x08\x00\x00",
                                 ttl=255, tos=0, router_alert=False, proto=17)
    return bytes(good)


MIX = [(v2_report, 45), (v3_report, 20), (query, 15), (leave, 10), (v1_report, 5), (malformed, 5)]


def build_mix(count, seed=3376):
    rng = random.Random(seed)
    makers = [maker for maker, weight in MIX for _share in range(weight)]
    packets = [rng.choice(makers)(rng) for _packet in range(count)]
    return packets


def host6(rng):
    return "fe80::%x:%x" % (rng.randint(1, 0xFFFF), rng.randint(1, 0xFFFF))


def group6(rng):
    return "ff%02x::%x:%x" % (rng.choice([0x02, 0x05, 0x0E, 0x3E]), rng.randint(0, 0xFFFF), rng.randint(1, 0xFFFF))


def frame6(src, dst, payload):
    return codec_mld.encode_ipv6(src, dst, payload)


def mld_records(rng, count):
    records = []
    for _record in range(count):
        rtype = rng.choice([codec.MODE_IS_EXCLUDE, codec.CHANGE_TO_EXCLUDE, codec.MODE_IS_INCLUDE,
                            codec.ALLOW_NEW_SOURCES, codec.CHANGE_TO_INCLUDE])
        sources = tuple("2001:db8::%x" % rng.randint(1, 0xFFFF) for _source in range(rng.choice([0, 0, 0, 1, 2])))
        if rtype in (codec.MODE_IS_INCLUDE, codec.ALLOW_NEW_SOURCES) and not sources:
            sources = ("2001:db8::1",)
        records.append(GroupRecord(rtype, group6(rng), sources))
    return records


def mld2_report_one(rng):
    records = [GroupRecord(codec.CHANGE_TO_EXCLUDE, group6(rng))]
    return frame6(host6(rng), codec_mld.ALL_MLDV2_ROUTERS, codec_mld.encode_report_mld2(records))


def mld2_report(rng):
    records = mld_records(rng, rng.randint(1, 4))
    return frame6(host6(rng), codec_mld.ALL_MLDV2_ROUTERS, codec_mld.encode_report_mld2(records))


def mld1_report(rng):
    g = group6(rng)
    return frame6(host6(rng), g, codec_mld.encode_report_mld1(g))


def mld_query(rng):
    kind = rng.random()
    if kind < 0.6:
        return frame6("fe80::1", codec_mld.ALL_NODES, codec_mld.encode_query_mld(2, 10000, 2, 125))
    if kind < 0.8:
        return frame6("fe80::1", codec_mld.ALL_NODES, codec_mld.encode_query_mld(1, 10000, 2, 125))
    g = group6(rng)
    return frame6("fe80::1", g, codec_mld.encode_query_mld(2, 1000, 2, 125, g))


def mld_done(rng):
    return frame6(host6(rng), "ff02::2", codec_mld.encode_done(group6(rng)))


def mld_malformed(rng):
    good = bytearray(rng.choice([mld2_report_one, mld2_report, mld_query])(rng))
    kind = rng.randrange(4)
    if kind == 0:  # bad checksum: an address octet changed in transit
        good[60] ^= 0x5A
    elif kind == 1:  # truncated in transit
        return bytes(good[:rng.randint(20, 60)])
    elif kind == 2:  # an MLDv2 report claiming 200 records
        payload = bytearray(codec_mld.encode_report_mld2([GroupRecord(codec.CHANGE_TO_EXCLUDE, group6(rng))]))
        struct.pack_into("!H", payload, 6, 200)
        return frame6(host6(rng), codec_mld.ALL_MLDV2_ROUTERS, bytes(payload))
    else:  # not ICMPv6 at all (UDP to mDNS, no Hop-by-Hop header)
        good = bytearray(frame6(host6(rng), "ff02::fb", b"\x14\xe9\x14\xe9\x00\x08\x00\x00"))
        good[6] = 17
        del good[40:48]
        struct.pack_into("!H", good, 4, 8)
    return bytes(good)


MLD_MIX = [(mld2_report_one, 45), (mld2_report, 20), (mld_query, 15), (mld_done, 10), (mld1_report, 5),
           (mld_malformed, 5)]


def build_mld_mix(count, seed=3810):
    rng = random.Random(seed)
    makers = [maker for maker, weight in MLD_MIX for _share in range(weight)]
    return [rng.choice(makers)(rng) for _packet in range(count)]


def measure(packets, seconds, rounds, decode=codec.decode_ipv4):
    rates = []
    cpu_rates = []
    for _round in range(rounds):
        done = 0
        start = time.perf_counter()
        cpu_start = time.process_time()
        deadline = start + seconds
        while True:
            for packet in packets:
                decode(packet)
            done += len(packets)
            now = time.perf_counter()
            if now >= deadline:
                break
        cpu = time.process_time() - cpu_start
        rates.append(done / (now - start))
        cpu_rates.append(done / cpu if cpu > 0 else float("nan"))
    return max(rates), statistics.median(rates), max(cpu_rates)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--seconds", type=float, default=0.25, help="length of one round (default 0.25)")
    parser.add_argument("--rounds", type=int, default=12, help="rounds per measurement (default 12)")
    args = parser.parse_args(argv)

    mix = build_mix(2000)
    results = [codec.decode_ipv4(p) for p in mix]
    bad = sum(isinstance(r, codec.Malformed) for r in results)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("bench_parser: Python %s on %s (%d CPUs, load average %.2f), %d-packet mix (%d malformed), "
          "%d rounds of %g s" % (platform.python_version(), platform.machine(), os.cpu_count() or 0, load,
                                 len(mix), bad, args.rounds, args.seconds))

    rng = random.Random(1)
    kinds = [("IGMPv2 report", v2_report), ("IGMPv3 report, 1-4 records", v3_report), ("query", query),
             ("IGMPv2 leave", leave), ("malformed", malformed)]
    best, median, cpu = measure(mix, args.seconds, args.rounds)
    verdict = "PASS" if cpu > TARGET else "FAIL"
    print("decode_ipv4 realistic mix:                 %8.0f packets/s (median %.0f), %.0f per CPU-second "
          "(target > %d: %s)" % (best, median, cpu, TARGET, verdict))
    for name, maker in kinds:
        packets = [maker(rng) for _packet in range(500)]
        best_kind, median_kind, cpu_kind = measure(packets, args.seconds / 2, args.rounds)
        print("decode_ipv4 %-30s %8.0f packets/s (median %.0f), %.0f per CPU-second"
              % (name + ":", best_kind, median_kind, cpu_kind))

    mld_mix = build_mld_mix(2000)
    mld_bad = sum(isinstance(codec_mld.decode_ipv6(p), codec.Malformed) for p in mld_mix)
    decode6 = codec_mld.decode_ipv6
    best6, median6, cpu6 = measure(mld_mix, args.seconds, args.rounds, decode6)
    verdict6 = "PASS" if cpu6 > TARGET else "FAIL"
    print("decode_ipv6 MLD realistic mix (%d malformed): %8.0f packets/s (median %.0f), %.0f per CPU-second "
          "(target > %d: %s)" % (mld_bad, best6, median6, cpu6, TARGET, verdict6))
    kinds6 = [("MLDv2 report, 1 record", mld2_report_one), ("MLDv2 report, 1-4 records", mld2_report),
              ("MLD query", mld_query), ("MLD done", mld_done), ("malformed", mld_malformed)]
    for name, maker in kinds6:
        packets = [maker(rng) for _packet in range(500)]
        best_kind, median_kind, cpu_kind = measure(packets, args.seconds / 2, args.rounds, decode6)
        print("decode_ipv6 %-30s %8.0f packets/s (median %.0f), %.0f per CPU-second"
              % (name + ":", best_kind, median_kind, cpu_kind))
    return 0 if cpu > TARGET and cpu6 > TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

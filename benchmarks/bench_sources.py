"""Cost of hostile queries from many sources: CPU and memory of the state machine.

Feeds N IGMPv3 General Queries, each from a distinct source below the querier's own address
(what a host spoofing sources would send), through the real codec and ``Querier.handle_packet``
on a fake clock, then the same number of version-mismatched IGMPv2 queries from N more sources
(the per-source warning table), then N group-specific-query-triggering leaves.

Targets: 10,000 queries from 10,000 distinct lower sources in under 1 s of CPU; RSS after the
run no more than 5 MB above RSS before (flat: every per-source table is bounded).

Usage: python3 -m benchmarks.bench_sources [--sources N]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))

from igmp_querier import codec  # noqa: E402  (path set up just above)
from igmp_querier.timers import Timers  # noqa: E402
from igmp_querier.election import Querier  # noqa: E402

TARGET_CPU = 1.0
TARGET_RSS_GROWTH_MB = 5.0
OWN = "192.168.255.254"


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def source(i: int, first_octet: int) -> str:
    return "%d.%d.%d.%d" % (first_octet, i // 62500 % 250, i // 250 % 250, i % 250 + 1)


def frames(count: int, first_octet: int, payload: bytes, dst: str = codec.ALL_HOSTS):
    return [codec.decode_ipv4(codec.encode_ipv4(source(i, first_octet), dst, payload)) for i in range(count)]


def timed(q: Querier, packets, start: float) -> float:
    before = time.process_time()
    for i, packet in enumerate(packets):
        q.handle_packet(packet, start + i * 0.0001)
        if i % 100 == 0:
            q.tick(start + i * 0.0001)
    return time.process_time() - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sources", type=int, default=10000)
    n = parser.parse_args().sources
    q = Querier(Timers(query_interval=125.0, igmp_version=3), OWN)
    q.start(0.0)
    v3 = frames(n, 10, codec.encode_query_v3(100, 2, 125))
    v2 = frames(n, 11, codec.encode_query_v2(100))
    leave = [codec.decode_ipv4(codec.encode_ipv4(source(i, 172), codec.ALL_ROUTERS,
                                                 codec.encode_leave("239.1.%d.%d" % (i // 250 % 250, i % 250 + 1))))
             for i in range(n)]
    rss_before = rss_mb()
    cpu_v3 = timed(q, v3, 1.0)
    cpu_v2 = timed(q, v2, 10.0)
    q2 = Querier(Timers(query_interval=125.0, igmp_version=3), "1.0.0.1")  # the querier: leaves cost queries
    q2.start(0.0)
    cpu_leave = timed(q2, leave, 20.0)
    rss_after = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ok = cpu_v3 < TARGET_CPU
    print("bench_sources: %d IGMPv3 queries from %d distinct lower sources: %.3f s CPU (%.1f us each) "
          "(target < %g s: %s)" % (n, n, cpu_v3, cpu_v3 / n * 1e6, TARGET_CPU, "MET" if ok else "MISSED"))
    print("bench_sources: %d mixed-version IGMPv2 queries from %d more sources: %.3f s CPU" % (n, n, cpu_v2))
    print("bench_sources: %d leaves for distinct groups (querier): %.3f s CPU, %d pending group-specific "
          "queries, %d refused" % (n, cpu_leave, len(q2._gsq), q2._gsq.dropped))
    print("bench_sources: remembered queriers %d, warned sources %d (bounded)" % (len(q._heard), len(q._mixed_logged)))
    growth = rss_after - rss_before
    print("bench_sources: RSS before %.1f MB, after %.1f MB (+%.1f MB), peak %.1f MB (target growth <= %g MB: %s)"
          % (rss_before, rss_after, growth, peak, TARGET_RSS_GROWTH_MB,
             "MET" if growth <= TARGET_RSS_GROWTH_MB else "MISSED"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

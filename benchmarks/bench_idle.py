"""Idle cost of the daemon at a 1 s query interval: CPU ms per minute, voluntary context
switches per minute, resident memory.

Two LANs in network namespaces (tests/netns/lab.py), measured at once over the same window:

- "lone querier": a querier alone on its bridge, nobody answering - the idle daemon proper;
- "lone querier IPv4+MLD": the same with ``--mld-version 2`` (an IGMP and an MLD query per
  interval; wake-ups per query count both), against a target of 1.5x the IPv4-only CPU;
- a quiet LAN: the querier A (10.0.0.9), a second daemon B (10.0.0.10) that stays non-querier,
  and two member hosts with three groups between them that answer every query (the bridge
  forwards their reports to A's port only).

Figures from /proc/<pid>/stat (utime + stime), /proc/<pid>/schedstat (on-CPU nanoseconds) and
/proc/<pid>/status (voluntary_ctxt_switches, VmRSS, VmHWM), after a warm-up that leaves out
interpreter start-up and the startup query burst. "wake-ups per query sent" divides the
voluntary context switches (each return from a blocking select() is one) by the queries the
state file counts over the window: an idle querier that wakes once per query scores 1.0.

Targets: under 50 ms CPU per minute; RSS under 25 MB.

Usage (root): python3 -m benchmarks.bench_idle [--seconds 60] [--query-interval 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks import benchlib
from benchmarks.benchlib import ProcSample, figure, lab
from tests.netns import lab6

NAME = "bench_idle"
CPU_TARGET_MS = 50.0
RSS_TARGET_MB = 25.0
#: A lone querier with --mld-version 2 (IGMP and MLD queries) against the IPv4-only one.
BOTH = "lone querier IPv4+MLD"
BOTH_TARGET = 1.5

#: The floor: a bare Python select() loop that only wakes up, 4 times a second, measured in the
#: same window (what any Python daemon pays per wake-up on this machine, under its current load).
FLOOR = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
a, b = socket.socketpair()
sel.register(a, selectors.EVENT_READ)
while True:
    sel.select(0.25)
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--query-interval", type=float, default=1.0)
    parser.add_argument("--state-root", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                        help="where the state dirs go (default /dev/shm: tmpfs, like /run on a real host)")
    args = parser.parse_args(argv)
    benchlib.require_lab(NAME)

    with lab.Lab(tag="idle") as the_lab, lab.Lab(tag="lone") as lone_lab, lab.Lab(tag="lone6") as lone6_lab:
        a = the_lab.add_host("a", "10.0.0.9")
        b = the_lab.add_host("b", "10.0.0.10")
        m1 = the_lab.add_host("m1", "10.0.0.21")
        m2 = the_lab.add_host("m2", "10.0.0.22")
        flags = ("-q", "%g" % args.query_interval, "-r", "%g" % min(1.0, args.query_interval / 2))
        state_root = tempfile.mkdtemp(prefix="bench-idle-", dir=args.state_root)
        # A first: the bridge then elects A's port as its router port, B's port never, so B hears
        # the queries but not the members' reports (started together, it is a coin toss).
        daemons = {"querier": a.daemon(*flags, state_dir=os.path.join(state_root, "a"))}
        daemons["querier"].wait_state(lambda s: s["queries_sent"] >= 1, 10, "A queries")
        daemons["non-querier"] = b.daemon(*flags, state_dir=os.path.join(state_root, "b"))
        for member, group in ((m1, "239.1.1.1"), (m1, "239.1.1.2"), (m2, "239.2.2.2")):
            member.join(group)
        daemons["lone querier"] = lone_lab.add_host("a", "10.0.0.9").daemon(
            *flags, state_dir=os.path.join(state_root, "lone"))
        both = lone6_lab.add_host("a", "10.0.0.9")
        lab6.enable_ipv6(both, "fe80::9")  # the lab turns IPv6 off elsewhere
        daemons[BOTH] = both.daemon(
            *flags, "--mld-version", "2", state_dir=os.path.join(state_root, "lone6"))
        daemons["non-querier"].wait_state(lambda s: s["role"] == "non-querier", 10, "B backs off")
        daemons[BOTH].wait_state(lambda s: s.get("mld", {}).get("queries_sent", 0) >= 1, 15,
                                 "the MLD side queries (a usable link-local address)")
        floor = subprocess.Popen([sys.executable, "-c", FLOOR])
        time.sleep(args.warmup)
        start = {role: ProcSample(d.pid) for role, d in daemons.items()}
        start["floor"] = ProcSample(floor.pid)
        sent_before = {role: _sent(d.state()) for role, d in daemons.items()}
        started = time.monotonic()
        print("%s: measuring %g s at a %g s query interval (warm-up %g s), state files in %s..."
              % (NAME, args.seconds, args.query_interval, args.warmup, state_root), flush=True)
        time.sleep(args.seconds)
        elapsed = time.monotonic() - started
        end = {role: ProcSample(d.pid) for role, d in daemons.items()}
        end["floor"] = ProcSample(floor.pid)
        floor.kill()
        floor.wait()
        states = {role: d.state() for role, d in daemons.items()}
        for role, daemon in daemons.items():
            if not daemon.alive():
                raise lab.LabError("the %s daemon died:\n%s" % (role, daemon.log()))
        shutil.rmtree(state_root, ignore_errors=True)

    per_minute = 60.0 / elapsed
    floor_wakes = max(1, end["floor"].voluntary - start["floor"].voluntary)
    floor_per_wake = (end["floor"].cpu_exact - start["floor"].cpu_exact) / floor_wakes
    for role in ("lone querier", BOTH, "querier", "non-querier"):
        s, e = start[role], end[role]
        cpu_ms = (e.cpu - s.cpu) * 1000.0 * per_minute
        exact_ms = (e.cpu_exact - s.cpu_exact) * 1000.0 * per_minute
        figure(NAME, "%s CPU (utime+stime, /proc/<pid>/stat)" % role, "%.1f ms/min (+-%.0f: %d ms ticks)"
               % (cpu_ms, 2000.0 / benchlib.CLK_TCK * per_minute, 1000 // benchlib.CLK_TCK),
               "< %g ms/min" % CPU_TARGET_MS, cpu_ms < CPU_TARGET_MS)
        figure(NAME, "%s CPU (on-CPU time, /proc/<pid>/schedstat)" % role, "%.1f ms/min (%.3f%% of a core)"
               % (exact_ms, exact_ms / 600.0), "< %g ms/min" % CPU_TARGET_MS, exact_ms < CPU_TARGET_MS)
        figure(NAME, "%s voluntary context switches" % role, "%.0f /min" % ((e.voluntary - s.voluntary) * per_minute))
        figure(NAME, "%s involuntary context switches" % role,
               "%.0f /min" % ((e.involuntary - s.involuntary) * per_minute))
        figure(NAME, "%s wake-up floor" % role,
               "%.1f ms/min (a bare Python select() loop costs %.0f us per wake-up here; x its wake-ups)"
               % (floor_per_wake * 1000.0 * (e.voluntary - s.voluntary) * per_minute, floor_per_wake * 1e6))
        sent = _sent(states[role]) - sent_before[role]
        if sent:
            figure(NAME, "%s wake-ups per query sent" % role, "%.2f (%d voluntary switches, %d queries)"
                   % ((e.voluntary - s.voluntary) / sent, e.voluntary - s.voluntary, sent))
        figure(NAME, "%s RSS" % role, "%.1f MB (peak %.1f MB)" % (e.rss_mb, e.hwm_mb),
               "< %g MB" % RSS_TARGET_MB, e.hwm_mb < RSS_TARGET_MB)
    cpu = {role: end[role].cpu_exact - start[role].cpu_exact for role in ("lone querier", BOTH)}
    ratio = cpu[BOTH] / cpu["lone querier"] if cpu["lone querier"] > 0 else float("inf")
    figure(NAME, "IPv4 + MLD idle CPU over IPv4 alone (on-CPU time)", "%.2fx" % ratio, "<= %gx" % BOTH_TARGET,
           ratio <= BOTH_TARGET)
    figure(NAME, "queries sent by the querier in the run", "%d" % states["querier"]["queries_sent"])
    figure(NAME, "groups in the querier's table", "%d" % len(states["querier"]["groups"]))
    return 0


def _sent(document) -> int:
    """Queries of both families a state file counts."""
    return document["queries_sent"] + document.get("mld", {}).get("queries_sent", 0)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except lab.LabError as exc:
        sys.stderr.write("%s: error: %s\n" % (NAME, exc))
        sys.exit(1)

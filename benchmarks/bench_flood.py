"""The daemon under a flood: does it keep its query schedule, and what does the flood cost it?

A snooping Linux bridge in network namespaces (tests/netns/lab.py) with the querier Q
(10.0.0.1, query interval 1 s), a flooder host and an observer host whose capture (kernel
receive timestamps) measures when Q's General Queries really leave. Phases:

1. quiet: the schedule without load (the baseline);
2. reports: 5,000 IGMPv2 membership reports/s for 20 s from the flooder host, through the
   bridge (which forwards them to Q's port, where Q queries from), for 1,000 groups from
   50 made-up hosts - a LAN full of noisy members;
3. malformed: 5,000 malformed IGMP frames/s for 10 s injected straight onto Q's link (a
   snooping bridge would drop most of them): bad checksums, truncation, impossible counts;
4. malformed, as fast as the injector goes for 5 s: how many the daemon takes apart per
   second before its socket buffer overflows.

Per phase: the largest lateness of a query against the schedule (each query due one query
interval after the previous one was due), queries missing, the daemon's CPU share from
/proc/<pid>/schedstat and /proc/<pid>/stat, and what reached Q's link (the bridge port's
transmit counter) or was counted (malformed_dropped in the state file).

Targets: no late query (none more than 0.1 s behind schedule) and under 30 % of one core
during the 5,000/s report flood.

Usage (root): python3 -m benchmarks.bench_flood [--rate 5000] [--seconds 20] [--groups 1000]
The injector is this module run with --inject inside a namespace.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

from benchmarks import benchlib
from benchmarks.benchlib import ProcSample, figure, lab

NAME = "bench_flood"
CPU_TARGET = 30.0  # % of one core
LATE = 0.1  # seconds behind schedule that make a query late
QUERIER = "10.0.0.1"
QI = 1.0


# --- the injector (runs in a namespace, as a separate process) --------------------------
def report_frames(groups: int, hosts: int = 50):
    codec = lab.codec
    frames = []
    for index in range(groups):
        group = "239.100.%d.%d" % (index // 250, index % 250 + 1)
        src = "10.0.1.%d" % (index % hosts + 1)
        frames.append((codec.encode_ipv4(src, group, codec.encode_report_v2(group)), group))
    return frames


def malformed_frames():
    codec = lab.codec
    src = "10.0.0.66"
    report = bytearray(codec.encode_report_v2("239.9.9.9"))
    bad_sum = bytes(report[:2]) + bytes([report[2] ^ 0xFF]) + bytes(report[3:])
    bad_ip = bytearray(codec.encode_ipv4(src, "239.9.9.9", bytes(report)))
    bad_ip[10] ^= 0xFF
    overrun = bytearray(codec.encode_report_v3([codec.GroupRecord(codec.MODE_IS_EXCLUDE, "239.9.9.9")]))
    overrun[6:8] = (9).to_bytes(2, "big")
    overrun[2:4] = b"\x00\x00"
    overrun[2:4] = codec.checksum(bytes(overrun)).to_bytes(2, "big")
    short_query = bytearray(b"\x11\x0a\x00\x00\x00\x00\x00\x00\x00\x00")
    short_query[2:4] = codec.checksum(bytes(short_query)).to_bytes(2, "big")
    return [
        (codec.encode_ipv4(src, "239.9.9.9", bad_sum), "239.9.9.9"),
        (bytes(bad_ip), "239.9.9.9"),
        (codec.encode_ipv4(src, "224.0.0.22", b"\x16\x00\xff\xff\x00\x00"), "224.0.0.22"),
        (codec.encode_ipv4(src, "224.0.0.22", bytes(overrun)), "224.0.0.22"),
        (codec.encode_ipv4(src, "224.0.0.1", bytes(short_query)), "224.0.0.1"),
        (codec.encode_ipv4(src, "224.0.0.2", codec.encode_report_v2("10.1.2.3")), "224.0.0.2"),
    ]


def inject(argv) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.bench_flood --inject")
    parser.add_argument("--ifname", required=True)
    parser.add_argument("--kind", choices=("reports", "malformed"), required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="frames/s; 0: as fast as possible")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--groups", type=int, default=1000)
    args = parser.parse_args(argv)
    frames = report_frames(args.groups) if args.kind == "reports" else malformed_frames()
    ifname = args.ifname
    prepared = [(datagram, (ifname, 0x0800, 0, 0, lab.multicast_mac(dst))) for datagram, dst in frames]
    count = len(prepared)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
    send = sock.sendto
    sent = errors = 0
    start = time.monotonic()
    end = start + args.seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * args.rate) if args.rate else sent + 256
        while sent < due:
            datagram, address = prepared[sent % count]
            try:
                send(datagram, address)
            except OSError:
                errors += 1
            sent += 1
        if args.rate:
            time.sleep(0.002)
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": sent, "errors": errors, "seconds": elapsed, "rate": sent / elapsed}))
    return 0


def start_injector(namespace: str, ifname: str, kind: str, rate: float, seconds: float, groups: int):
    cmd = ["ip", "netns", "exec", namespace, sys.executable, "-m", "benchmarks.bench_flood", "--inject",
           "--ifname", ifname, "--kind", kind, "--rate", "%g" % rate, "--seconds", "%g" % seconds,
           "--groups", str(groups)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=benchlib.REPO)


def finish_injector(proc) -> dict:
    out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise lab.LabError("injector failed (%d): %s" % (proc.returncode, err.strip()))
    return json.loads(out)


# --- measurement ----------------------------------------------------------------------
def port_tx_packets(the_lab, port: str) -> int:
    out = lab.run(["ip", "-n", the_lab.bridge_ns, "-s", "-j", "link", "show", port]).stdout
    return int(json.loads(out)[0]["stats64"]["tx"]["packets"])


def schedule(capture, start: float, end: float):
    """(max lateness, missing) of Q's general queries sent in [start, end).

    The daemon schedules each query one interval after the previous one was due, so the send
    times sit on a grid t0 + k x QI; lateness is how far the latest one lags the earliest
    (the spread around the grid), missing counts the grid points without a query.
    """
    times = [f.time for f in capture.queries(src=QUERIER, general=True) if start <= f.time < end]
    if len(times) < 2:
        return float("inf"), None
    steps = [round((t - times[0]) / QI) for t in times]
    residuals = [t - (times[0] + k * QI) for t, k in zip(times, steps)]
    return max(residuals) - min(residuals), steps[-1] + 1 - len(set(steps))


class Phase:
    def __init__(self, daemon, the_lab, port):
        self.daemon, self.the_lab, self.port = daemon, the_lab, port
        self.proc0 = ProcSample(daemon.pid)
        self.wall0 = time.time()
        self.mono0 = time.monotonic()
        self.tx0 = port_tx_packets(the_lab, port)
        self.malformed0 = daemon.state()["malformed_dropped"]

    def end(self):
        self.proc1 = ProcSample(self.daemon.pid)
        self.seconds = time.monotonic() - self.mono0
        self.wall1 = time.time()
        self.tx = port_tx_packets(self.the_lab, self.port) - self.tx0
        time.sleep(1.2)  # the state file catches up (written at least once a second)
        state = self.daemon.state()
        self.malformed = state["malformed_dropped"] - self.malformed0
        self.groups = len(state["groups"])
        self.cpu_share = 100.0 * (self.proc1.cpu_exact - self.proc0.cpu_exact) / self.seconds
        self.cpu_share_ticks = 100.0 * (self.proc1.cpu - self.proc0.cpu) / self.seconds
        return self


def report_schedule(label, capture, phase):
    lateness, missing = schedule(capture, phase.wall0, phase.wall1)
    figure(NAME, "%s: max query lateness" % label, "%.1f ms, %s missing" % (lateness * 1000, missing),
           "none > %.0f ms late, none missing" % (LATE * 1000), lateness <= LATE and missing == 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rate", type=float, default=5000.0, help="reports/s and malformed/s (default 5000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the report flood (default 20)")
    parser.add_argument("--malformed-seconds", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=5.0, help="length of the all-out phase")
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--quiet-seconds", type=float, default=6.0)
    args = parser.parse_args(argv)
    benchlib.require_lab(NAME)

    with lab.Lab(tag="flood") as the_lab:
        q = the_lab.add_host("q", QUERIER)
        flooder = the_lab.add_host("f", "10.0.0.50")
        capture = the_lab.add_host("obs", "10.0.0.200").capture()
        state_dir = os.path.join("/dev/shm" if os.path.isdir("/dev/shm") else the_lab.workdir, the_lab.name)
        daemon = q.daemon("-q", "%g" % QI, "-r", "0.5", state_dir=state_dir)
        daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 3, 10, "querying")
        lab.wait_until(lambda: q.port in the_lab.router_ports(), 5, "the bridge sees Q's port as router port")
        print("%s: querier %s, query interval %g s; flood %g frames/s; state files in %s"
              % (NAME, QUERIER, QI, args.rate, state_dir), flush=True)

        quiet = Phase(daemon, the_lab, q.port)
        time.sleep(args.quiet_seconds)
        quiet.end()

        phase = Phase(daemon, the_lab, q.port)
        injector = start_injector(flooder.ns, flooder.ifname, "reports", args.rate, args.seconds, args.groups)
        reports = finish_injector(injector)
        reports_phase = phase.end()

        phase = Phase(daemon, the_lab, q.port)
        injector = start_injector(the_lab.bridge_ns, q.port, "malformed", args.rate, args.malformed_seconds, 0)
        malformed = finish_injector(injector)
        malformed_phase = phase.end()

        phase = Phase(daemon, the_lab, q.port)
        injector = start_injector(the_lab.bridge_ns, q.port, "malformed", 0, args.max_seconds, 0)
        allout = finish_injector(injector)
        allout_phase = phase.end()

        alive = daemon.alive()
        peak_rss = ProcSample(daemon.pid).hwm_mb if alive else float("nan")
        final = daemon.state() if alive else {}
        log = daemon.log()
        daemon.kill()
        shutil.rmtree(state_dir, ignore_errors=True)

    if not alive:
        raise lab.LabError("the daemon died under the flood:\n%s" % log)

    report_schedule("quiet", capture, quiet)
    figure(NAME, "quiet: daemon CPU", "%.2f %% of a core" % quiet.cpu_share)

    figure(NAME, "reports: injected", "%d in %.1f s = %.0f /s (%d send errors)"
           % (reports["sent"], reports["seconds"], reports["rate"], reports["errors"]),
           "%g /s" % args.rate, reports["rate"] >= 0.98 * args.rate)
    figure(NAME, "reports: frames delivered to the querier's link (bridge port tx)", "%d (%.0f /s)"
           % (reports_phase.tx, reports_phase.tx / reports_phase.seconds))
    report_schedule("reports", capture, reports_phase)
    figure(NAME, "reports: daemon CPU (schedstat)", "%.1f %% of a core (stat ticks: %.1f %%)"
           % (reports_phase.cpu_share, reports_phase.cpu_share_ticks),
           "< %g %%" % CPU_TARGET, reports_phase.cpu_share < CPU_TARGET)
    figure(NAME, "reports: groups in the state file", "%d (of %d flooded)" % (reports_phase.groups, args.groups))

    figure(NAME, "malformed: injected", "%d in %.1f s = %.0f /s"
           % (malformed["sent"], malformed["seconds"], malformed["rate"]))
    figure(NAME, "malformed: counted in malformed_dropped", "%d (%.1f %% of injected)"
           % (malformed_phase.malformed, 100.0 * malformed_phase.malformed / max(1, malformed["sent"])))
    report_schedule("malformed", capture, malformed_phase)
    figure(NAME, "malformed: daemon CPU (schedstat)", "%.1f %% of a core" % malformed_phase.cpu_share,
           "< %g %%" % CPU_TARGET, malformed_phase.cpu_share < CPU_TARGET)

    figure(NAME, "all-out malformed: injected", "%d in %.1f s = %.0f /s"
           % (allout["sent"], allout["seconds"], allout["rate"]))
    handled = allout_phase.malformed / allout_phase.seconds
    share = 100.0 * allout_phase.malformed / max(1, allout["sent"])
    figure(NAME, "all-out malformed: handling rate",
           "%.0f /s counted (%.1f %% of injected; the rest overflowed the socket buffer)" % (handled, share))
    report_schedule("all-out malformed", capture, allout_phase)
    figure(NAME, "all-out malformed: daemon CPU (schedstat)", "%.1f %% of a core" % allout_phase.cpu_share)

    figure(NAME, "peak RSS after the floods", "%.1f MB" % peak_rss, "< 25 MB", peak_rss < 25)
    figure(NAME, "queries sent in the run", "%d; role %s" % (final["queries_sent"], final["role"]))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inject":
        sys.exit(inject(sys.argv[2:]))
    try:
        sys.exit(main())
    except lab.LabError as exc:
        sys.stderr.write("%s: error: %s\n" % (NAME, exc))
        sys.exit(1)

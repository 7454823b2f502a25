"""Shared helpers for the daemon benchmarks (failover, idle, flood): the netns lab from the
integration tests, /proc readings of a process, and uniform figure lines.

The benchmarks are modules run from the repository root: ``python3 -m benchmarks.bench_idle``.

Every figure line reads ``<bench>: <what>: <value> <unit> (target <target>: MET|MISSED)``; the
benchmarks report targets, they do not assert them, and exit non-zero only on errors.
"""

from __future__ import annotations

import os
import sys

from tests.netns import lab  # namespaces, bridge, daemon processes, capture (as in the netns tests)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def require_lab(name: str) -> None:
    """Exit 2 with one clear line when the lab cannot run here (not root, no ip netns)."""
    reason = lab.unavailable_reason()
    if reason:
        sys.stderr.write("%s: cannot run: %s\n" % (name, reason))
        raise SystemExit(2)


class ProcSample:
    """One reading of /proc/<pid>/stat and /proc/<pid>/status."""

    def __init__(self, pid: int) -> None:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        self.cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime, seconds (tick resolution)
        self.cpu_exact = 0.0  # on-CPU time from the scheduler, nanosecond resolution, all threads
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as handle:
                self.cpu_exact += int(handle.read().split()[0]) / 1e9
        status = {}
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                key, _sep, value = line.partition(":")
                status[key] = value.split()
        self.voluntary = int(status["voluntary_ctxt_switches"][0])
        self.involuntary = int(status["nonvoluntary_ctxt_switches"][0])
        self.rss_mb = int(status["VmRSS"][0]) / 1024.0  # kB
        self.hwm_mb = int(status["VmHWM"][0]) / 1024.0


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def figure(bench: str, what: str, value: str, target: str = "", ok=None) -> None:
    line = "%s: %s: %s" % (bench, what, value)
    if target:
        line += " (target %s%s)" % (target, "" if ok is None else ": " + verdict(ok))
    print(line, flush=True)

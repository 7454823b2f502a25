"""Rollout time: the querier role on the lab's three querier containers (and the member).

Drives the molecule ``lab`` scenario (extensions/molecule/lab: three queriers and a member from
the base image on one snooping bridge, rolled out with the multicast.igmp.site playbook): create
and prepare, then times ``molecule converge`` twice (the first converge on fresh hosts, then a
run with nothing to change, whose recap must show changed=0), then destroys everything,
also after a failure or Ctrl-C. It takes the machine-wide molecule lock that scripts/test takes
(the scenarios use fixed container names) and refuses to run while a lab is up (scripts/lab).

Targets (issue 11): first converge < 45 s, a run with nothing to change < 20 s, on this machine.
Times are wall-clock seconds of each molecule step (what scripts/test prints as [+Ns]), the
target's figure; the converge playbook's own time (ansible's profile_tasks total, without
molecule's and ansible-playbook's start-up) is printed beside them, and so is the load average,
because the machine is shared.

Usage (root): python3 benchmarks/bench_rollout.py  (or python3 -m benchmarks.bench_rollout)
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:  # run as a script: python3 benchmarks/bench_rollout.py
    sys.path.insert(0, REPO)

from benchmarks.benchlib import figure  # noqa: E402  (after the path set-up)

NAME = "bench_rollout"
SCENARIO = "lab"
FIRST_TARGET = 45.0
NOCHANGE_TARGET = 20.0
#: The role before the zipapp (the package copied file by file): issue 11's figures, and the lab
#: scenario's converge and idempotence steps measured here just before the change (load ~9 on 2 cores).
BEFORE = {"first": "74 s (issue 11); 257 s at load 9", "nochange": "53 s (issue 11); 225 s at load 9"}
CACHE = os.environ.get("MULTICAST_IGMP_CACHE", "/var/cache/multicast-igmp")
# molecule 26 frames ansible's output ("  │ host : ok=..."), and may colour it.
RECAP = re.compile(r"^[\s\u2502]*(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: profile_tasks' last line before its recap: "(0:00:00.113)       0:00:19.330", the playbook's own time
ELAPSED = re.compile(r"\(\d+:\d\d:\d\d\.\d+\)\s+(\d+):(\d\d):(\d\d\.\d+)")
HOSTS = ("lab-q9", "lab-q10", "lab-q100")


def tool_dir():
    """Where molecule and ansible-playbook are: beside this Python, else the bootstrap virtualenv."""
    here = os.path.dirname(sys.executable)
    if os.access(os.path.join(here, "molecule"), os.X_OK):
        return here
    try:
        venv = subprocess.run([os.path.join(REPO, "scripts", "bootstrap"), "--venv-path"], capture_output=True,
                              text=True, check=False, timeout=60).stdout.strip()
    except OSError:
        venv = ""
    if venv and os.access(os.path.join(venv, "bin", "molecule"), os.X_OK):
        return os.path.join(venv, "bin")
    found = shutil.which("molecule")
    return os.path.dirname(found) if found else None


class Molecule:
    def __init__(self, bindir, verbose):
        self.env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
        self.molecule = os.path.join(bindir, "molecule")
        self.verbose = verbose

    def step(self, step, check=True):
        """Run one molecule step; (seconds, output)."""
        start = time.monotonic()
        done = subprocess.run([self.molecule, step, "-s", SCENARIO], cwd=REPO, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        seconds = time.monotonic() - start
        if self.verbose:
            sys.stdout.write(done.stdout)
        if check and done.returncode != 0:
            sys.stderr.write(done.stdout[-6000:])
            raise RuntimeError("molecule %s -s %s failed (exit %d)" % (step, SCENARIO, done.returncode))
        return seconds, done.stdout


def changed_hosts(output):
    """{host: changed} from the last play recap of a converge (all plays of the playbook)."""
    changed = {}
    for host, count, unreachable, failed in RECAP.findall(ANSI.sub("", output)):
        if int(unreachable) or int(failed):
            raise RuntimeError("%s: unreachable=%s failed=%s" % (host, unreachable, failed))
        changed[host] = changed.get(host, 0) + int(count)
    missing = [host for host in HOSTS if host not in changed]
    if missing:
        raise RuntimeError("no play recap for %s in molecule's output" % ", ".join(missing))
    return changed


def playbook_seconds(output):
    """The converge playbook's own run time (profile_tasks' total), without molecule's start-up."""
    found = ELAPSED.findall(ANSI.sub("", output))
    if not found:
        raise RuntimeError("no profile_tasks total in molecule's output")
    hours, minutes, seconds = found[-1]
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--verbose", action="store_true", help="print molecule's output")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.stderr.write("%s: cannot run: needs root (Docker containers)\n" % NAME)
        return 2
    bindir = tool_dir()
    if not bindir or not shutil.which("docker"):
        sys.stderr.write("%s: cannot run: needs docker and molecule (scripts/bootstrap makes the virtualenv)\n" % NAME)
        return 2
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, ".molecule.lock"), "w") as lock:
        if not _try_lock(lock):
            print("%s: waiting for another molecule run on this machine" % NAME, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        up = subprocess.run(["docker", "ps", "-q", "--filter", "label=multicast-igmp=lab"], capture_output=True,
                            text=True, check=False).stdout.strip()
        if up:
            sys.stderr.write("%s: cannot run: a lab is up on this machine (scripts/lab down first)\n" % NAME)
            return 2
        return run(Molecule(bindir, args.verbose))


def _try_lock(lock):
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def run(molecule):
    try:
        molecule.step("destroy", check=False)
        molecule.step("create")
        molecule.step("prepare")
        load_before = os.getloadavg()[0]
        first, first_out = molecule.step("converge")
        second, second_out = molecule.step("converge")
        load_after = os.getloadavg()[0]
        first_changed, second_changed = changed_hosts(first_out), changed_hosts(second_out)
    finally:
        molecule.step("destroy", check=False)
    left = subprocess.run(["docker", "ps", "-aq", "--filter", "label=multicast-igmp=lab"], capture_output=True,
                          text=True, check=False).stdout.split()
    figure(NAME, "first converge, 3 queriers + member (changed: %s; before: %s)" % (
        _counts(first_changed), BEFORE["first"]), "%.1f s" % first, "< %g s" % FIRST_TARGET, first < FIRST_TARGET)
    figure(NAME, "run with nothing to change (changed: %s; before: %s)" % (
        _counts(second_changed), BEFORE["nochange"]), "%.1f s" % second, "< %g s" % NOCHANGE_TARGET,
        second < NOCHANGE_TARGET and not any(second_changed.values()))
    figure(NAME, "the same two runs, the playbook's own time (profile_tasks; without molecule's start-up)",
           "%.1f s, %.1f s" % (playbook_seconds(first_out), playbook_seconds(second_out)))
    figure(NAME, "load average (1 min) at the first and second converge", "%.1f, %.1f (2 cores here: %d)" % (
        load_before, load_after, os.cpu_count() or 0))
    if left:
        sys.stderr.write("%s: containers left behind: %s\n" % (NAME, " ".join(left)))
        return 1
    return 0


def _counts(changed):
    return ", ".join("%s=%d" % item for item in sorted(changed.items())) or "none"


if __name__ == "__main__":
    sys.exit(main())

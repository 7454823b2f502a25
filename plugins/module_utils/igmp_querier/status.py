# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""``igmp-querier status [IFACE] [--json]``: who is querier, from the state files, without Ansible.

One line per interface (role, querier, last query heard, groups, health), judged by
:mod:`health` like the ``igmp_status`` module does. Exit status (as monitoring plugins use it):

- 0: every instance is ``ok``;
- 1: the worst is ``warning``;
- 2: the worst is ``critical`` (daemon not running, stale state, no or a foreign querier, ...);
- 3: nothing to judge (no instance found) or a bad command line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _systemd, health, state
from .timers import DEFAULT_STATE_DIR, PROG

EXIT_CODES = {health.OK: 0, health.WARNING: 1, health.CRITICAL: 2}
EXIT_UNKNOWN = 3


def process_alive(pid: Any) -> Optional[bool]:
    """Whether process ``pid`` exists (None when it cannot be told)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # beyond a C int no process can have the pid
        return False
    except OSError:
        return True  # EPERM: it exists, under another user
    return True


def _run(argv: Sequence[str]) -> Tuple[int, str, str]:
    try:
        # The host's own command, run without Ansible: no AnsibleModule.run_command here.
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)  # pylint: disable=ansible-bad-function
    except (OSError, subprocess.SubprocessError) as exc:
        return 1, "", str(exc)
    return done.returncode, done.stdout, done.stderr


def systemd_facts(interface: str) -> Dict[str, Optional[bool]]:
    """{"active", "enabled"} from systemctl; None each without systemd or a loaded unit."""
    return _systemd.facts(_systemd.Systemd(shutil.which("systemctl"), _run).show(interface))


def entry(interface: str, path: Optional[str], now: float, facts: Dict[str, Optional[bool]],
          ours: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """One interface's state and verdict (``path``: its state file or None)."""
    document = error = None
    if path is not None:
        try:
            document = state.read(path)
        except state.StateError as exc:
            error = str(exc)
        except Exception as exc:  # a hostile file must never end the report of the others
            error = "cannot use %s: %s" % (path, type(exc).__name__)
    installed = path is not None or facts.get("active") is not None
    verdict = health.judge(document, now, installed=installed, active=facts.get("active"),
                           enabled=facts.get("enabled"), state_error=error, ours=ours,
                           process_alive=process_alive(document.get("pid")) if document else None)
    result: Dict[str, Any] = {"interface": interface, "state_file": path, "state_error": error,
                              "active": facts.get("active"), "enabled": facts.get("enabled"),
                              "health": verdict["health"], "reasons": verdict["reasons"]}
    if document is not None:
        heard = document.get("last_query_heard")
        result.update(role=document["role"], address=document["address"], querier=document["querier"],
                      last_query_heard_age=None if heard is None else round(max(0.0, now - heard), 1),
                      last_query_heard_from=document["last_query_heard_from"], groups=len(document["groups"]),
                      queries_sent=document["queries_sent"], updated=document["updated"])
        mld = document.get("mld")
        if mld is not None:
            result["mld"] = {"role": mld["role"], "address": mld["address"], "querier": mld["querier"],
                             "mld_version": mld["mld_version"], "groups": len(mld["groups"]),
                             "queries_sent": mld["queries_sent"]}
    return result


def line(item: Dict[str, Any]) -> str:
    """``eth0: querier 10.0.0.9 (us), last query heard never, 3 groups, health ok``; with MLD,
    ``..., 3 groups, MLD querier fe80::9 (us), health ok``."""
    name = item["interface"]
    verdict = {"health": item["health"], "reasons": item["reasons"]}
    if "role" not in item:
        return "%s: no state, health %s" % (name, health.summary(verdict))
    if item["role"] == "querier":
        who = "querier %s (us)" % item["address"]
    else:
        who = "non-querier, querier %s" % (item["querier"] or "unknown")
    age = item["last_query_heard_age"]
    heard = "never" if age is None else "%s s ago from %s" % (health.fmt(age), item["last_query_heard_from"])
    mld = ""
    if "mld" in item:  # --mld-version: the MLD querier as well, before the verdict
        six = item["mld"]
        if six["role"] == "querier":
            mld = ", MLD querier %s (us)" % six["address"]
        else:
            mld = ", MLD non-querier, querier %s" % (six["querier"] or "unknown")
        if six["address"] is None:
            mld = ", MLD waiting for a link-local address"
    return "%s: %s, last query heard %s, %d group%s%s, health %s" % (
        name, who, heard, item["groups"], "" if item["groups"] == 1 else "s", mld, health.summary(verdict))


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_UNKNOWN, "%s: error: %s\n" % (self.prog, message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG + " status", description=(
        "Show each querier instance on this host: role, elected querier, last query heard, groups and "
        "health. Exit 0 when all are ok, 1 on a warning, 2 on a critical verdict, 3 when there is "
        "nothing to judge."))
    parser.add_argument("interface", nargs="?", metavar="IFACE", help="Only this interface (default: every instance)")
    parser.add_argument("--json", action="store_true", help="Print one JSON document instead of lines")
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR, metavar="DIR",
                        help="The daemons' state directory (default: %s)" % DEFAULT_STATE_DIR)
    parser.add_argument("--ours", default=None, metavar="ADDR[,ADDR...]",
                        help="Addresses of our queriers on the LAN: an elected querier not among them is critical")
    return parser


def main(argv: Optional[Sequence[str]] = None, now: Optional[float] = None, facts=systemd_facts) -> int:
    args = build_parser().parse_args(argv)
    if args.interface is not None and not state.is_interface_name(args.interface):
        sys.stderr.write("%s status: error: IFACE must be an interface name (1..15 characters, no '/' or "
                         "spaces), got %r\n" % (PROG, args.interface))
        return EXIT_UNKNOWN
    if "\0" in args.state_dir:
        sys.stderr.write("%s status: error: --state-dir must be a directory path\n" % PROG)
        return EXIT_UNKNOWN
    ours = None if args.ours is None else [a.strip() for a in args.ours.split(",") if a.strip()]
    now = time.time() if now is None else now
    found = state.discover(args.state_dir)
    names = [args.interface] if args.interface is not None else sorted(found)
    items: List[Dict[str, Any]] = []
    for name in names:
        path = found.get(name) or state.find(args.state_dir, name)
        items.append(entry(name, path, now, facts(name), ours))
    worst = health.worst(item["health"] for item in items)
    if args.json:
        sys.stdout.write(json.dumps({"health": worst if items else None,
                                     "interfaces": {item["interface"]: item for item in items}},
                                    indent=1, sort_keys=True) + "\n")
    elif items:
        sys.stdout.write("".join(line(item) + "\n" for item in items))
    else:
        sys.stdout.write("no igmp-querier instance on this host (no state file in %s)\n" % args.state_dir)
    return EXIT_CODES[worst] if items else EXIT_UNKNOWN

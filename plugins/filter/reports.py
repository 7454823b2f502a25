# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE). The MIT License is compatible with the
# GNU General Public License version 3, under which Ansible is distributed.
"""The playbooks' report tables and waits, as tested code instead of Jinja.

``probe_table``: the probe playbook's receiver table (received/expected, loss, sources).
``status_lines``: the status playbook's ``host: line`` list of every instance.
``querier_settled``: whether the site playbook may read the querier table yet.
"""

from __future__ import annotations

PROBE_ROW = "%-24s %17s %8s  %s"
#: The site playbook waits at most this long after a start for the startup queries to be heard.
MAX_SETTLE = 50


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _var(hostvars, host, name):
    """hostvars[host][name], or None when the host or the variable is missing (unreachable host)."""
    try:
        value = hostvars[host][name]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def probe_table(hosts, hostvars, var="__probe_received"):
    """One line per receiver in ``hosts`` from its registered igmp_probe receive result, header first."""
    rows = [PROBE_ROW % ("receiver", "received/expected", "loss %", "sources")]
    for host in hosts or []:
        result = _var(hostvars, host, var) or {}
        if _number(result.get("received")) and _number(result.get("expected")):
            loss = result.get("loss_percent")
            sources = result.get("sources")
            sources = ", ".join(str(s) for s in sources) if isinstance(sources, list) else ""
            rows.append(PROBE_ROW % (host, "%d/%d" % (result["received"], result["expected"]),
                                     "%.1f" % loss if _number(loss) else "-", sources or "-"))
        else:
            rows.append(PROBE_ROW % (host, "-", "-", "FAILED: %s" % (result.get("msg") or "no result")))
    return rows


def status_lines(hosts, hostvars, var="__igmp_status"):
    """``host: line`` for each line of every host's igmp_status msg (``no result`` without one)."""
    lines = []
    for host in hosts or []:
        result = _var(hostvars, host, var) or {}
        msg = result.get("msg")
        for line in (msg if isinstance(msg, str) else "no result").split("\n"):
            lines.append("%s: %s" % (host, line))
    return lines


def querier_settled(result, limit=MAX_SETTLE):
    """Whether every running instance of an igmp_status ``result`` has a state file and has been up
    a startup query interval (+2 s, at most ``limit``): before that a querier may still back off."""
    interfaces = result.get("interfaces") if isinstance(result, dict) else None
    if not isinstance(interfaces, dict):
        return False
    entries = [e for e in interfaces.values() if isinstance(e, dict)]
    intervals = [e["timers"].get("startup_query_interval") for e in entries if isinstance(e.get("timers"), dict)]
    intervals = [i for i in intervals if _number(i)]
    settle = min((max(intervals) if intervals else 0) + 2, limit)
    running = [e for e in entries if e.get("active") is True]
    if any(e.get("role") is None for e in running):
        return False
    return not any(e.get("role") != "non-querier" and _number(e.get("uptime")) and e["uptime"] < settle
                   for e in running)


class FilterModule:
    def filters(self):
        return {"probe_table": probe_table, "status_lines": status_lines, "querier_settled": querier_settled}

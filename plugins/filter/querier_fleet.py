# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE). The MIT License is compatible with the
# GNU General Public License version 3, under which Ansible is distributed.
"""The fleet verdict of the status and site playbooks: hosts grouped by LAN, one querier each.

``querier_rows``: one host's igmp_status result (+ its network facts) -> one row per instance.
``querier_fleet``: every host's rows -> the table (lines) and what is wrong where (problems).
The fleet fails unless every LAN has exactly one querier that is one of its hosts, every daemon
runs, and no state file is stale or unreadable. Where daemons run the MLD querier too, the LAN's
MLD querier is judged by the same rule, on a line of its own.
"""

from __future__ import annotations

import ipaddress


def _lan(facts, interface, querier):
    """``10.0.0.0/24`` from the interface's facts, or a key shared by hosts seeing one querier."""
    key = interface.replace("-", "_").replace(":", "_").replace(".", "_")
    iface = facts.get(key) if isinstance(facts, dict) else None
    ipv4 = iface.get("ipv4") if isinstance(iface, dict) else None
    if isinstance(ipv4, dict) and ipv4.get("address") and ipv4.get("netmask"):
        try:
            return str(ipaddress.IPv4Interface("%s/%s" % (ipv4["address"], ipv4["netmask"])).network)
        except ValueError:
            pass
    return "seen from querier %s" % (querier or "unknown")


def querier_rows(result, host, facts=None):
    """One row per instance of ``host``'s igmp_status ``result``."""
    rows = []
    interfaces = result.get("interfaces") if isinstance(result, dict) else None
    if not isinstance(interfaces, dict) or result.get("failed"):
        why = result.get("msg") if isinstance(result, dict) and result.get("msg") else "no result"
        return [{"host": host, "interface": "-", "lan": "unknown", "address": None, "querier": None, "role": None,
                 "health": None, "problems": ["igmp_status failed: %s" % str(why).splitlines()[0]]}]
    for name in sorted(interfaces):
        entry = interfaces[name]
        if not isinstance(entry, dict) or not entry.get("installed"):
            continue
        problems = []
        if entry.get("active") is False:
            problems.append("daemon not running")
        if entry.get("state_error"):
            problems.append("state file unreadable: %s" % entry["state_error"])
        elif entry.get("stale"):
            problems.append("state STALE (%s s old)" % _num(entry.get("state_age")))
        elif entry.get("role") is None and entry.get("active") is not False:
            problems.append("no state file (daemon not running?)")
        mld = entry.get("mld") if isinstance(entry.get("mld"), dict) else None
        rows.append({
            "host": host, "interface": name, "lan": _lan(facts, name, entry.get("querier")),
            "address": entry.get("address"), "querier": None if problems else entry.get("querier"),
            "role": None if problems else entry.get("role"), "health": entry.get("health"),
            "reasons": [r.get("msg") for r in entry.get("health_reasons") or [] if isinstance(r, dict)],
            "problems": problems,
            # the MLD side (None without it): its link-local address, the MLD querier, its role
            "mld": None if mld is None else {
                "address": _text(mld.get("address")), "querier": None if problems else _text(mld.get("querier")),
                "role": None if problems else _text(mld.get("role"))},
        })
    return rows or [{"host": host, "interface": None}]  # reported, and has no instance


def _text(value):
    """A text field of a result, or None (a hostile result carries anything)."""
    return value if isinstance(value, str) else None


def _ip_key(address):
    """Lowest address first, by number (fe80::9 before fe80::10); what is no address last."""
    try:
        return (0, int(ipaddress.ip_address(address)))
    except ValueError:
        return (1, 0)


def _num(value):
    try:
        return "%.0f" % float(value)
    except (TypeError, ValueError):
        return "?"


def querier_fleet(rows, hosts=None):
    """{"failed", "lines", "problems"} for every host's rows; ``hosts``: those that should have reported."""
    rows = [r for r in (rows or []) if isinstance(r, dict)]
    reported = {r.get("host") for r in rows}
    rows = [r for r in rows if r.get("interface") is not None]
    lans = {}
    for row in rows:
        lans.setdefault(row.get("lan") or "unknown", []).append(row)
    lines, problems = [], []
    for lan in sorted(lans):
        members = sorted(lans[lan], key=lambda r: (str(r.get("host")), str(r.get("interface"))))
        sides = [("LAN %s" % lan, members)]
        # the MLD side of each daemon that has one; one still waiting for its link-local is no querier
        six = [dict(r["mld"], host=r.get("host"), interface=r.get("interface"),
                    role=r["mld"].get("role") if r["mld"].get("address") else None)
               for r in members if isinstance(r.get("mld"), dict)]
        if six:
            sides.append(("LAN %s MLD" % lan, six))
        for title, side in sides:
            head, problem = _heading(title, side)
            lines.append(head)
            if problem:
                problems.append(problem)
        for row in members:
            state = row.get("role") or "-"
            note = "; ".join(row.get("problems") or [])
            health_text = row.get("health") or "-"
            if row.get("reasons"):
                health_text += ": " + "; ".join(row["reasons"])
            mld = row.get("mld") if isinstance(row.get("mld"), dict) else None
            mld_text = ", MLD %s %s" % (mld.get("address") or "(no link-local yet)", mld.get("role") or "-") if mld else ""
            lines.append("  %s %s %s %s%s, health %s%s" % (
                row.get("host"), row.get("interface"), row.get("address") or "-", state, mld_text, health_text,
                ("  <- " + note) if note else ""))
            for problem in row.get("problems") or []:
                problems.append("%s %s: %s" % (row.get("host"), row.get("interface"), problem))
    for host in sorted(set(hosts or []) - reported, key=str):
        lines.append("  %s: no igmp_status result (unreachable, or the task failed)" % host)
        problems.append("%s: no igmp_status result (unreachable, or the task failed)" % host)
    if not rows:
        lines.append("no querier instances found")
        problems.append("no querier instances found")
    return {"failed": bool(problems), "lines": lines, "problems": problems}


def _heading(title, members):
    """(heading, problem or None) of one family on one LAN: ``members`` are rows with the
    ``address``, ``querier`` and ``role`` of that family, and ``host`` and ``interface``."""
    owners = sorted((r for r in members if r.get("role") == "querier"), key=lambda r: _ip_key(r.get("address")))
    seen = sorted({r["querier"] for r in members if r.get("querier")}, key=_ip_key)
    ours = {r.get("address") for r in members if r.get("address")}
    if len(owners) == 1 and seen == [owners[0].get("address")]:
        return "%s: querier %s (%s %s)" % (title, seen[0], owners[0]["host"], owners[0]["interface"]), None
    if len(owners) > 1:
        head = "%s: %d QUERIERS: %s" % (title, len(owners), ", ".join(
            "%s (%s %s)" % (r.get("address"), r["host"], r["interface"]) for r in owners))
        return head, head + " (a LAN settles within one query interval after a start; run again)"
    if len(seen) == 1 and seen[0] in ours and not owners:
        head = "%s: querier %s per the others, but its own instance is not healthy" % (title, seen[0])
        return head, head
    if len(seen) == 1 and seen[0] not in ours:
        head = "%s: querier %s is NOT ONE OF THESE HOSTS" % (title, seen[0])
        return head, head
    if not seen:
        head = "%s: NO QUERIER (no instance running)" % title
        return head, head
    head = "%s: NOT AGREED, queriers seen: %s" % (title, ", ".join(seen))
    return head, head + " (settles within one query interval after a start; run again)"


class FilterModule:
    def filters(self):
        return {"querier_rows": querier_rows, "querier_fleet": querier_fleet}

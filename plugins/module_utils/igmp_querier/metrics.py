# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""Prometheus metrics: a node_exporter textfile-collector file rendered from the state document.

The daemon writes it (``--metrics-file PATH``) each time it writes its state file, replacing it
atomically so node_exporter never reads half a file. Names follow the Prometheus conventions:
prefix ``igmp_querier_``, counters end in ``_total``, times in seconds, label ``interface``.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any, Dict, List, Optional

from . import health as healthmod

PREFIX = "igmp_querier_"

#: state-document counter -> (metric name without prefix, help)
COUNTERS = (
    ("queries_sent", "queries_sent_total", "General and group-specific queries sent."),
    ("queries_heard", "queries_heard_total", "Queries heard from other queriers."),
    ("queries_ignored", "queries_ignored_total", "Queries ignored because hosts would not act on them."),
    ("elections_won", "elections_won_total", "Times a higher-addressed querier was outranked."),
    ("elections_lost", "elections_lost_total", "Times the daemon yielded to a lower-addressed querier."),
    ("takeovers", "takeovers_total", "Takeovers after the elected querier fell silent."),
    ("role_changes", "role_changes_total", "Changes between querier and non-querier."),
    ("malformed_dropped", "malformed_frames_total", "Malformed IGMP frames dropped."),
    ("send_errors", "send_errors_total", "Queries that could not be sent."),
    ("groups_overflow", "groups_overflow_total", "Reports for new groups refused because the group table was full."),
)


def _label(value: Any) -> str:
    """A label value in the text format: backslash, double quote and newline escaped."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, float) or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(round(value, 3))


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def render(document: Dict[str, Any], now: float, verdict: Optional[Dict[str, Any]] = None) -> str:
    """The text-format exposition of one interface's state (``now``: wall clock)."""
    if verdict is None:
        verdict = healthmod.judge(document, now)
    interface = 'interface="%s"' % _label(document.get("interface"))
    lines: List[str] = []

    def family(name: str, kind: str, help_text: str, samples) -> None:
        lines.append("# HELP %s%s %s" % (PREFIX, name, help_text))
        lines.append("# TYPE %s%s %s" % (PREFIX, name, kind))
        for labels, value in samples:
            lines.append("%s%s{%s} %s" % (PREFIX, name, ",".join([interface] + labels), _value(value)))

    family("up", "gauge", "1 while the daemon runs and writes this file.", [([], 1)])
    family("info", "gauge", "The daemon's view of the LAN; value always 1.", [([
        'querier="%s"' % _label(document.get("querier") or ""),
        'address="%s"' % _label(document.get("address") or ""),
        'role="%s"' % _label(document.get("role")),
        'igmp_version="%s"' % _label(document.get("igmp_version")),
        'version="%s"' % _label(document.get("version")),
    ], 1)])
    _querier_families(family, document, now, "")
    family("link_up", "gauge", "1 when the interface is up.", [([], document.get("link") == "up")])
    mld = document.get("mld")
    if isinstance(mld, dict):  # --mld-version: the MLD querier's families, named igmp_querier_mld_*
        family("mld_info", "gauge", "The MLD querier's view of the LAN; value always 1.", [([
            'querier="%s"' % _label(mld.get("querier") or ""),
            'address="%s"' % _label(mld.get("address") or ""),
            'role="%s"' % _label(mld.get("role")),
            'mld_version="%s"' % _label(mld.get("mld_version")),
        ], 1)])
        _querier_families(family, mld, now, "mld_")
    family("start_time_seconds", "gauge", "When the daemon started (seconds since the epoch).",
           [([], _number(document.get("started")) or float("nan"))])
    family("state_updated_timestamp_seconds", "gauge", "When the daemon last wrote its state (seconds since the epoch).",
           [([], _number(document.get("updated")) or float("nan"))])
    family("health", "gauge", "Health verdict: 0 ok, 1 warning, 2 critical.",
           [([], healthmod.LEVELS.index(verdict["health"]))])
    family("health_reason", "gauge", "1 for each reason of the health verdict.",
           [(['code="%s"' % _label(r["code"]), 'level="%s"' % _label(r["level"])], 1) for r in verdict["reasons"]])
    return "\n".join(lines) + "\n"


def _querier_families(family, section: Dict[str, Any], now: float, prefix: str) -> None:
    """One address family's querier (the top level: IGMP; ``mld_``: the ``mld`` object): role,
    counters, groups, times and timers in force."""
    what = " (MLD)" if prefix else ""
    family(prefix + "is_querier", "gauge", "1 when this host is the elected querier%s." % what,
           [([], section.get("role") == "querier")])
    for key, name, help_text in COUNTERS:
        value = section.get(key)
        family(prefix + name, "counter", help_text.replace("IGMP", "MLD") if prefix else help_text,
               [([], value if isinstance(value, int) and not isinstance(value, bool) else 0)])
    groups = section.get("groups")
    family(prefix + "groups", "gauge", "Groups in the learned membership table%s." % what,
           [([], len(groups) if isinstance(groups, list) else 0)])
    heard = _number(section.get("last_query_heard"))
    family(prefix + "last_query_heard_age_seconds", "gauge",
           "Seconds since a query of another querier was last heard (NaN: never) at the time of writing%s." % what,
           [([], float("nan") if heard is None else max(0.0, now - heard))])
    sent = _number(section.get("last_query_sent"))
    family(prefix + "last_query_sent_age_seconds", "gauge",
           "Seconds since this daemon last sent a query (NaN: never) at the time of writing%s." % what,
           [([], float("nan") if sent is None else max(0.0, now - sent))])
    effective = section.get("effective") if isinstance(section.get("effective"), dict) else {}
    family(prefix + "query_interval_seconds", "gauge", "Query interval in force%s." % what,
           [([], _number(effective.get("query_interval")) or float("nan"))])
    family(prefix + "timeout_seconds", "gauge", "Other Querier Present Interval (takeover timeout) in force%s." % what,
           [([], _number(effective.get("timeout")) or float("nan"))])


def write(path: str, text: str) -> None:
    """Replace ``path`` atomically with ``text`` (mode 0644, set through the descriptor)."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

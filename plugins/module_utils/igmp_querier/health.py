# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The health of one querier instance, judged once: :func:`judge`.

Pure: a state document (already through :func:`state.validate`, or None), what systemd says,
the wall clock and the addresses of our own queriers go in; a verdict comes out. Used by the
``igmp_status`` module, the on-host ``igmp-querier status`` command and the metrics file.

Rules, in the order they are checked (code: level):

- ``not_installed``: critical. Asked about an interface with no instance (no unit, no state).
- ``not_running``: critical. systemd says the unit is not active, or the state file's
  process is gone.
- ``not_enabled``: warning. systemd says the unit does not start at boot.
- ``no_state``: critical. Installed, but no state file (daemon never started or stopped).
- ``state_unreadable``: critical. The state file is not a valid state document.
- ``stale``: critical. The state file was not refreshed for :data:`state.STALE_INTERVALS`
  query intervals (hung daemon, or one that died and left it behind).
- ``link_down``: warning. The daemon's interface is down or gone: it cannot query.
- ``no_querier``: critical. No query sent (as querier) or heard (as non-querier) for longer
  than the takeover timeout in force: memberships on snooping switches will lapse.
- ``foreign_querier``: critical. The elected querier is not one of ours (only judged when the
  caller names our queriers' addresses).
- ``querier_unspecified``: critical. The elected querier is 0.0.0.0.
- ``two_queriers``: critical. A capture on the wire (``heard``, igmp_status ``listen``) heard
  General Queries from two or more sources within the last query interval of the capture: a
  querier that does not hear the other keeps querying (listen for more than two query intervals,
  so that a daemon's startup queries before it backs off do not count).
- ``mixed_versions``: warning. A query of another IGMP version than ours was heard within the
  older-version timeout (robustness x query interval + max response): hosts fall back to the
  oldest version heard (RFC 3376 s.7.3.1).
- ``flapping``: warning. :data:`FLAP_CHANGES` or more role changes within
  :data:`FLAP_INTERVALS` query intervals.
- ``groups_full``: warning. The group table is full, or reports were refused because it was.
- ``send_errors``: warning. Queries could not leave since the daemon started.

The verdict is the worst level of its reasons, ``ok`` without any.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Optional

from . import state as statefile
from .groups import MAX_GROUPS

OK, WARNING, CRITICAL = "ok", "warning", "critical"
LEVELS = (OK, WARNING, CRITICAL)  # in order of severity: the index is the metrics value

#: Role changes within FLAP_INTERVALS query intervals that count as flapping. A failover and the
#: winner's return are two changes at least a timeout (two query intervals) apart.
FLAP_CHANGES = 4
FLAP_INTERVALS = 5
#: Slack on the takeover timeout before "no querier" (a query is due within the timeout).
NO_QUERIER_SLACK = 2.0

RULES = {
    "not_installed": CRITICAL,
    "not_running": CRITICAL,
    "not_enabled": WARNING,
    "no_state": CRITICAL,
    "state_unreadable": CRITICAL,
    "stale": CRITICAL,
    "link_down": WARNING,
    "no_querier": CRITICAL,
    "foreign_querier": CRITICAL,
    "querier_unspecified": CRITICAL,
    "two_queriers": CRITICAL,
    "mixed_versions": WARNING,
    "flapping": WARNING,
    "groups_full": WARNING,
    "send_errors": WARNING,
}


def _number(value: Any) -> Optional[float]:
    """A finite number from a state document, or None (hostile files carry anything)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _count(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None and number > 0 else 0


def fmt(value: float) -> str:
    """A number of seconds for humans: 12, 2.5, 31744, never 3.1744e+04."""
    if not math.isfinite(value):
        return str(value)
    text = ("%.1f" % value) if abs(value) < 100 else ("%.0f" % value)
    return text[:-2] if text.endswith(".0") else text


def _interval(document: Dict[str, Any]) -> float:
    for holder in (document.get("effective"), document.get("timers")):
        if isinstance(holder, dict):
            value = _number(holder.get("query_interval"))
            if value is not None and value > 0:
                return value
    return 60.0


def _timeout(document: Dict[str, Any], interval: float) -> float:
    for holder in (document.get("effective"), document.get("timers")):
        if isinstance(holder, dict):
            value = _number(holder.get("timeout"))
            if value is not None and value > 0:
                return value
    return 2 * interval + 5.0


def judge(document: Optional[Dict[str, Any]], now: float, *, installed: bool = True,
          active: Optional[bool] = None, enabled: Optional[bool] = None, process_alive: Optional[bool] = None,
          state_error: Optional[str] = None, ours: Optional[Iterable[str]] = None,
          heard: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """The verdict on one interface: ``{"health": ok|warning|critical, "reasons": [...]}``.

    ``active``/``enabled``: systemd's word on the unit, None where there is no systemd or no
    unit. ``process_alive``: whether the state file's PID exists, None when not checked.
    ``ours``: the addresses of our queriers on the LAN; None skips the foreign-querier rule.
    ``heard``: queriers heard on the wire (:meth:`observe.Observer.queriers`), or None.
    ``now``: wall clock. Each reason is ``{"code", "level", "msg"}``, worst first.
    """
    reasons: List[Dict[str, str]] = []

    def add(code: str, msg: str) -> None:
        reasons.append({"code": code, "level": RULES[code], "msg": msg})

    if not installed and document is None and state_error is None:
        add("not_installed", "no querier installed on this interface")
        return _verdict(reasons)
    if active is False:
        add("not_running", "daemon not running (systemd: unit not active)")
    elif process_alive is False and document is not None:
        add("not_running", "daemon not running (process %s is gone)" % document.get("pid"))
    if enabled is False:
        add("not_enabled", "unit not enabled: it will not start at boot")
    if state_error is not None:
        add("state_unreadable", "state file unusable: %s" % state_error)
        return _verdict(reasons)
    if document is None:
        if active is not False:
            add("no_state", "no state file: daemon not running?")
        return _verdict(reasons)

    interval = _interval(document)
    timeout = _timeout(document, interval)
    updated = _number(document.get("updated"))
    try:
        stale = updated is None or updated > now + 60.0 or statefile.is_stale(document, now)
    except (TypeError, ValueError, AttributeError):  # hostile timers: treat as not trustworthy
        stale = True
    if stale:
        age = "unknown" if updated is None or updated > now + 60.0 else "%s s" % fmt(now - updated)
        add("stale", "state file not refreshed (age %s, limit %s s): daemon hung or dead" % (
            age, fmt(statefile.STALE_INTERVALS * interval + 1.0)))
        return _verdict(reasons)  # what a stale file says is no longer true

    link = document.get("link")
    if link != "up":
        add("link_down", "link %s: the daemon cannot query" % link)
    else:
        querier_role = document.get("role") == "querier"
        last = _number(document.get("last_query_sent" if querier_role else "last_query_heard"))
        started = _number(document.get("started"))
        since = last if last is not None else started
        if since is not None and now - since > timeout + NO_QUERIER_SLACK:
            what = "sent" if querier_role else "heard"
            add("no_querier", "no query %s for %s s (timeout %s s): memberships will lapse" % (
                what, fmt(now - since), fmt(timeout)))

    elected = document.get("querier")
    if elected == "0.0.0.0":
        add("querier_unspecified", "elected querier is 0.0.0.0 (not a valid querier address)")
    elif ours is not None and isinstance(elected, str) and elected not in set(ours):
        add("foreign_querier", "elected querier %s is not one of ours" % elected)

    if isinstance(heard, list):
        recent = sorted({str(q.get("source")) for q in heard
                         if isinstance(q, dict) and q.get("source") not in (None, "0.0.0.0") and _count(q.get("general"))
                         and _number(q.get("last_seen_age")) is not None and q["last_seen_age"] <= interval + 1.0})
        if len(recent) >= 2:
            add("two_queriers", "%d queriers heard on the wire at once: %s" % (len(recent), ", ".join(recent)))

    versions = document.get("versions_heard")
    our_version = document.get("igmp_version")
    if isinstance(versions, dict):
        robustness = _number((document.get("effective") or {}).get("robustness")) or 2.0
        max_response = _number((document.get("timers") or {}).get("max_response_time")) or 10.0
        window = robustness * interval + max_response
        mixed = sorted(str(v) for v, t in versions.items()
                       if str(v) != str(our_version) and _number(t) is not None and now - _number(t) <= window)
        if mixed:
            add("mixed_versions", "LAN mixes IGMP versions: heard IGMPv%s, we send IGMPv%s" % (
                "/v".join(mixed), our_version))

    recent = document.get("recent_role_changes")
    if isinstance(recent, list):
        window = FLAP_INTERVALS * interval
        changes = [t for t in (_number(x) for x in recent) if t is not None and now - t <= window]
        if len(changes) >= FLAP_CHANGES:
            add("flapping", "role changed %d times in %s s (%d query intervals)" % (
                len(changes), fmt(window), FLAP_INTERVALS))

    overflow = _count(document.get("groups_overflow"))
    groups = document.get("groups")
    held = len(groups) if isinstance(groups, list) else 0
    if overflow or held >= MAX_GROUPS:
        add("groups_full", "group table full (%d of %d groups), %d reports refused" % (held, MAX_GROUPS, overflow))

    errors = _count(document.get("send_errors"))
    if errors:
        add("send_errors", "%d queries could not be sent since the daemon started" % errors)
    return _verdict(reasons)


def _verdict(reasons: List[Dict[str, str]]) -> Dict[str, Any]:
    reasons.sort(key=lambda r: -LEVELS.index(r["level"]))
    health = reasons[0]["level"] if reasons else OK
    return {"health": health, "reasons": reasons}


def worst(levels: Iterable[str]) -> str:
    """The most severe of several verdicts (``ok`` for none)."""
    return max(levels, key=LEVELS.index, default=OK)


def at_least(health: str, threshold: str) -> bool:
    """Whether ``health`` is ``threshold`` or worse (``never`` is never reached)."""
    return threshold in LEVELS and LEVELS.index(health) >= LEVELS.index(threshold)


def summary(verdict: Dict[str, Any]) -> str:
    """``ok`` or ``critical: reason; reason``."""
    if not verdict["reasons"]:
        return verdict["health"]
    return "%s: %s" % (verdict["health"], "; ".join(r["msg"] for r in verdict["reasons"]))

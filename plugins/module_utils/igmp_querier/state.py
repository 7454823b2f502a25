# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The live state file: ``<state-dir>/<interface>.json``.

Written by the daemon (atomically: temp file + rename, mode 0644) on every role change and
at least once per query interval; read by the ``igmp_status`` module. This module is the
one definition of the schema for both.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, List, Optional

SCHEMA_VERSION = 1

#: A state file older than this many query intervals means a hung daemon.
STALE_INTERVALS = 3

#: key -> accepted JSON types; every key is required in a valid state file.
FIELDS = {
    "schema": (int,),
    "interface": (str,),
    "address": (str, type(None)),
    "link": (str,),  # "up", "down", "absent"
    "role": (str,),  # "querier", "non-querier"
    "querier": (str, type(None)),
    "igmp_version": (int,),
    "queries_sent": (int,),
    "queries_heard": (int,),
    "last_query_sent": (float, int, type(None)),
    "last_query_heard": (float, int, type(None)),
    "last_query_heard_from": (str, type(None)),
    "elections_won": (int,),
    "elections_lost": (int,),
    "takeovers": (int,),
    "malformed_dropped": (int,),
    "groups": (list,),
    "timers": (dict,),
    "effective": (dict,),
    "updated": (float, int),
    "started": (float, int),
    "pid": (int,),
    "version": (str,),
}

#: Counters added after schema 1 first shipped: optional on read (files of older daemons lack
#: them), always written. key -> value assumed when absent.
COUNTERS = {
    "queries_ignored": 0,  # queries that hosts would not act on (misaddressed, TTL, options)
    "groups_overflow": 0,  # reports for new groups refused because the group table was full
    "send_errors": 0,  # queries that could not leave (congestion, a failed socket)
    "role_changes": 0,  # querier <-> non-querier transitions since start
}

GROUP_FIELDS = ("group", "last_reporter", "version", "expires")
TIMER_FIELDS = (
    "query_interval",
    "max_response_time",
    "robustness",
    "startup_query_count",
    "startup_query_interval",
    "timeout",
)


class StateError(ValueError):
    """A state file that is missing, unreadable or not of this schema."""


def state_path(state_dir: str, interface: str) -> str:
    return os.path.join(state_dir, interface + ".json")


def build(querier, *, interface: str, address: Optional[str], link: str, pid: int, version: str,
          started: float, malformed: int, now_mono: float, now_wall: float,
          send_errors: int = 0, versions_heard: Optional[Dict[int, float]] = None) -> Dict[str, Any]:
    """Snapshot an :class:`election.Querier` as a state document (wall-clock times)."""

    def wall(mono: Optional[float]) -> Optional[float]:
        return None if mono is None else round(now_wall - (now_mono - mono), 3)

    timers = querier.timers
    return {
        "schema": SCHEMA_VERSION,
        "interface": interface,
        "address": address,
        "link": link,
        "role": querier.role,
        "querier": querier.elected(now_mono),
        "igmp_version": timers.igmp_version,
        "queries_sent": querier.queries_sent,
        "queries_heard": querier.queries_heard,
        "last_query_sent": wall(querier.last_query_sent),
        "last_query_heard": wall(querier.last_query_heard),
        "last_query_heard_from": querier.last_query_heard_from,
        "elections_won": querier.elections_won,
        "elections_lost": querier.elections_lost,
        "takeovers": querier.takeovers,
        "malformed_dropped": malformed,
        "queries_ignored": querier.queries_ignored,
        "groups_overflow": querier.groups.dropped,
        "send_errors": send_errors,
        "role_changes": querier.role_changes,
        "recent_role_changes": [wall(t) for t in querier.recent_role_changes],
        # IGMP version -> when a query of it was last heard from another host (health: mixed LAN)
        "versions_heard": {str(v): wall(t) for v, t in sorted((versions_heard or {}).items())},
        "groups": [
            {"group": m.group, "last_reporter": m.last_reporter, "version": m.version, "expires": wall(m.expires)}
            for m in querier.groups.memberships()
        ],
        "timers": {
            "query_interval": timers.query_interval,
            "max_response_time": timers.max_response_time,
            "robustness": timers.robustness,
            "startup_query_count": timers.startup_count,
            "startup_query_interval": timers.startup_interval,
            "timeout": timers.other_querier_present_interval,
            "snooping_timeout": timers.snooping_timeout,
        },
        "effective": {
            "query_interval": querier.query_interval,
            "robustness": querier.robustness,
            "timeout": querier.timeout,
        },
        "updated": round(now_wall, 3),
        "started": round(started, 3),
        "pid": pid,
        "version": version,
    }


def write(path: str, document: Dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``document`` (mode 0644).

    Safe in a directory that others can write: the temp file is created with O_EXCL|O_NOFOLLOW
    (mkstemp), written and chmodded through its descriptor only, and the final rename replaces
    whatever sits at ``path`` (a symlink included) without following it. Nothing here resolves a
    name that someone else could have swapped for a link to another file.
    """
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(document, indent=1, sort_keys=True) + "\n")  # one write() call
            handle.flush()
            os.fchmod(handle.fileno(), 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)  # removes a link planted under our temp name, never its target
        except OSError:
            pass
        raise


#: Mode of a state directory the daemon creates (igmp_status, often another user, reads it).
STATE_DIR_MODE = 0o755


def make_state_dir(path: str) -> None:
    """Create ``path`` (and missing parents) mode 0755 whatever the umask; leave an existing
    directory as it is. Raises OSError."""
    if os.path.isdir(path):
        return
    old = os.umask(0o022)  # single-threaded at start-up: the process umask is ours to borrow
    try:
        os.makedirs(path, mode=STATE_DIR_MODE, exist_ok=True)
    finally:
        os.umask(old)


def validate(document: Any) -> Dict[str, Any]:
    """Check a parsed state document against the schema; raise :class:`StateError`."""
    if not isinstance(document, dict):
        raise StateError("state is not a JSON object")
    if document.get("schema") != SCHEMA_VERSION:
        raise StateError("state schema %r, expected %d" % (document.get("schema"), SCHEMA_VERSION))
    for key, types in FIELDS.items():
        if key not in document:
            raise StateError("state has no %r" % key)
        value = document[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise StateError("state field %r has type %s" % (key, type(value).__name__))
    for key, default in COUNTERS.items():
        value = document.setdefault(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise StateError("state field %r has type %s" % (key, type(value).__name__))
    recent = document.setdefault("recent_role_changes", [])
    if not isinstance(recent, list) or any(isinstance(t, bool) or not isinstance(t, (int, float)) for t in recent):
        raise StateError("state field 'recent_role_changes' is not a list of times")
    for entry in document["groups"]:
        if not isinstance(entry, dict) or any(k not in entry for k in GROUP_FIELDS):
            raise StateError("state group entry %r lacks %s" % (entry, ", ".join(GROUP_FIELDS)))
    for key in TIMER_FIELDS:
        if key not in document["timers"]:
            raise StateError("state timers lack %r" % key)
    return document


def read(path: str) -> Dict[str, Any]:
    """Read and validate one state file."""
    try:
        with open(path) as handle:
            document = json.load(handle)
    except (OSError, ValueError) as exc:
        raise StateError("cannot read %s: %s" % (path, exc))
    return validate(document)


def find(state_dir: str, interface: str) -> Optional[str]:
    """The state file of ``interface``: ``<dir>/<if>.json`` or, under systemd's per-instance
    runtime directory, ``<dir>/<if>/<if>.json``."""
    for path in (state_path(state_dir, interface), state_path(os.path.join(state_dir, interface), interface)):
        if os.path.isfile(path):
            return path
    return None


def discover(state_dir: str) -> Dict[str, str]:
    """Every interface with a state file below ``state_dir`` -> its path."""
    found: Dict[str, str] = {}
    try:
        names = sorted(os.listdir(state_dir))
    except OSError:
        return found
    for name in names:
        full = os.path.join(state_dir, name)
        if name.endswith(".json") and not name.startswith(".") and os.path.isfile(full):
            found[name[:-5]] = full  # <if>.json wins over <if>/<if>.json, as in find()
        elif os.path.isdir(full) and os.path.isfile(state_path(full, name)):
            found.setdefault(name, state_path(full, name))
    return found


def age(document: Dict[str, Any], now_wall: float) -> float:
    return max(0.0, now_wall - float(document["updated"]))


def is_stale(document: Dict[str, Any], now_wall: float) -> bool:
    """True when the daemon has not refreshed its state for several query intervals."""
    interval = float(document["effective"].get("query_interval") or document["timers"]["query_interval"])
    return age(document, now_wall) > STALE_INTERVALS * interval + 1.0


def group_names(document: Dict[str, Any]) -> List[str]:
    return [g["group"] for g in document["groups"]]

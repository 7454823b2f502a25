# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The live state file: ``<state-dir>/<interface>.json``.

Written by the daemon (atomically: temp file + rename, mode 0644) on every role change and
at least once per query interval; read by the ``igmp_status`` module. This module is the
one definition of the schema for both.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import stat
import tempfile
from typing import Any, Dict, List, Optional

from .election import NON_QUERIER, QUERIER

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
        "role": str(querier.role),  # a plain str in the document, as the schema says
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


#: Largest state file read (bytes). The largest legal file, 4,096 groups with the longest
#: addresses, every counter at 2**63 and 15-character names, is about 515 kB (513,110 bytes as
#: test_state.py builds it from a real Querier; 517,580 with a 64-character version); anything
#: beyond four times that is not the daemon's.
MAX_BYTES = 2 * 1024 * 1024

#: ``updated`` may lead the reader's wall clock by this much (the write and the read are on one
#: host, so this only covers a small clock step back); further ahead, the file is invalid.
CLOCK_SKEW = 5.0

#: Known keys of ``effective`` (timers in force); keys a newer daemon adds may be numbers or null.
EFFECTIVE_FIELDS = ("query_interval", "robustness", "timeout")
#: Fields that hold an IPv4 address (or null); their text reaches the report and its messages.
ADDRESS_FIELDS = ("address", "querier", "last_query_heard_from")
CHOICES = {"role": (QUERIER, NON_QUERIER), "link": ("up", "down", "absent")}
MAX_VERSION_LENGTH = 64
_SCALARS = (str, int, float, bool, type(None))


def _show(value: Any) -> str:
    """A short text for a value read from a file: repr of a scalar, else its type (no recursion)."""
    if isinstance(value, _SCALARS):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return "a JSON %s" % ("array" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__)


def _finite(value: Any) -> bool:
    """A JSON number (not bool) that is a finite float too (huge ints overflow float())."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _ipv4(value: Any, multicast: bool = False) -> bool:
    """``value`` is a dotted-quad IPv4 address (a multicast one with ``multicast``)."""
    if not isinstance(value, str):  # IPv4Address() takes an int too
        return False
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return address.is_multicast or not multicast


def _check_text(document: Dict[str, Any]) -> None:
    """The text fields hold what the daemon writes, never arbitrary text (escape sequences)."""
    for key in ADDRESS_FIELDS:
        if document[key] is not None and not _ipv4(document[key]):
            raise StateError("state field %r is %s, not an IPv4 address" % (key, _show(document[key])))
    for key, choices in CHOICES.items():
        if document[key] not in choices:
            raise StateError("state field %r is %s, expected %s" % (key, _show(document[key]), " or ".join(choices)))
    if not is_interface_name(document["interface"]):
        raise StateError("state field 'interface' is %s, not an interface name" % _show(document["interface"]))
    version = document["version"]
    if not 0 < len(version) <= MAX_VERSION_LENGTH or not version.isprintable() or not version.isascii():
        raise StateError("state field 'version' is %s, not a version" % _show(version))


def _check_timers(name: str, timers: Dict[str, Any], required) -> None:
    """Known timers are finite non-negative numbers; others (a newer daemon's) numbers or null."""
    for key in required:
        if key not in timers and name == "timers":
            raise StateError("state timers lack %r" % key)
    for key, value in timers.items():
        if value is None and key not in required:
            continue
        if not _finite(value) or value < 0:
            raise StateError("state %s %s is %s, not a finite number of seconds or queries" % (name, _show(key), _show(value)))
    if name == "timers" and not timers["query_interval"] > 0:
        raise StateError("state timers 'query_interval' is %s, not above 0" % _show(timers["query_interval"]))


def _check_group(entry: Any) -> None:
    if not isinstance(entry, dict) or any(k not in entry for k in GROUP_FIELDS):
        raise StateError("state group entry %s lacks %s" % (_show(entry), ", ".join(GROUP_FIELDS)))
    problem, expected = None, None
    if not _ipv4(entry["group"], multicast=True):
        problem, expected = "group", "an IPv4 multicast address"
    elif entry["last_reporter"] is not None and not _ipv4(entry["last_reporter"]):
        problem, expected = "last_reporter", "an IPv4 address or null"
    elif isinstance(entry["version"], bool) or entry["version"] not in (1, 2, 3):
        problem, expected = "version", "1, 2 or 3"
    elif entry["expires"] is not None and not _finite(entry["expires"]):
        problem, expected = "expires", "a finite time or null"
    else:
        odd = [k for k, v in entry.items() if not isinstance(v, _SCALARS) or isinstance(v, float) and not math.isfinite(v)]
        if odd:
            problem, expected = odd[0], "a finite scalar"
    if problem is not None:
        raise StateError("state group entry %s: %s is %s, expected %s" % (
            _show(entry["group"]), _show(problem), _show(entry[problem]), expected))


def validate(document: Any, now_wall: Optional[float] = None) -> Dict[str, Any]:
    """Check a parsed state document against the schema; raise :class:`StateError`.

    With ``now_wall``, an ``updated`` more than :data:`CLOCK_SKEW` ahead of it is invalid too.
    Every number must be finite (so ``age``, ``is_stale`` and the module's report cannot fail).
    """
    if not isinstance(document, dict):
        raise StateError("state is not a JSON object")
    if document.get("schema") != SCHEMA_VERSION:
        raise StateError("state schema %s, expected %d" % (_show(document.get("schema")), SCHEMA_VERSION))
    for key, types in FIELDS.items():
        if key not in document:
            raise StateError("state has no %r" % key)
        value = document[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise StateError("state field %r has type %s" % (key, type(value).__name__))
        if isinstance(value, (int, float)) and not _finite(value):
            raise StateError("state field %r is %s, not a finite number" % (key, _show(value)))
    for key, default in COUNTERS.items():
        value = document.setdefault(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise StateError("state field %r has type %s" % (key, type(value).__name__))
    _check_text(document)
    recent = document.setdefault("recent_role_changes", [])
    if not isinstance(recent, list) or not all(_finite(t) for t in recent):
        raise StateError("state field 'recent_role_changes' is not a list of times")
    for entry in document["groups"]:
        _check_group(entry)
    _check_timers("timers", document["timers"], TIMER_FIELDS)
    _check_timers("effective", document["effective"], EFFECTIVE_FIELDS)
    if now_wall is not None and document["updated"] > now_wall + CLOCK_SKEW:
        raise StateError("state 'updated' is %.0f s in the future (more than %g s of clock skew)"
                         % (document["updated"] - now_wall, CLOCK_SKEW))
    return document


def _reject_constant(name: str) -> None:
    raise ValueError("%s is not a number in a state file" % name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("%s is not a finite number" % text[:40])
    return value


def _short_int(text: str) -> int:
    # 2**64 has 20 digits; longer integers are not the daemon's, and converting megabytes of
    # digits takes seconds on Python < 3.11 (which has no digit limit).
    if len(text.lstrip("-")) > 20:
        raise ValueError("integer of %d digits" % len(text))
    return int(text)


def read(path: str, now_wall: Optional[float] = None) -> Dict[str, Any]:
    """Read and validate one state file; any problem is a :class:`StateError`.

    Opens without blocking (a FIFO in its place never stalls the reader), accepts regular files
    only (not /dev/zero) and reads at most :data:`MAX_BYTES` + 1 bytes.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise StateError("cannot read %s: %s" % (path, exc))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StateError("cannot read %s: not a regular file" % path)
        chunks = []
        left = MAX_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise StateError("cannot read %s: %s" % (path, exc))
    finally:
        os.close(fd)
    if left <= 0:
        raise StateError("cannot read %s: larger than %d bytes" % (path, MAX_BYTES))
    try:
        document = json.loads(b"".join(chunks).decode("utf-8"), parse_constant=_reject_constant,
                              parse_float=_finite_float, parse_int=_short_int)
    except (ValueError, RecursionError, MemoryError) as exc:  # UnicodeDecodeError is a ValueError
        raise StateError("cannot read %s: %s" % (path, str(exc)[:200]))
    return validate(document, now_wall)


def is_interface_name(name: Any) -> bool:
    """A name Linux accepts for an interface: 1..15 UTF-8 bytes, not ``.`` or ``..``, no ``/``,
    whitespace or control characters. Names read from a directory or from systemd are checked
    with it before they reach a socket call or ``systemd-escape`` rules."""
    if not isinstance(name, str) or name in (".", ".."):
        return False
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: a file name that is not UTF-8
        return False
    return 0 < size < 16 and not any(c == "/" or c.isspace() or not c.isprintable() for c in name)


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
    except (OSError, ValueError):
        return found
    for name in names:
        full = os.path.join(state_dir, name)
        if not is_interface_name(name[:-5] if name.endswith(".json") else name):
            continue  # not a file of the daemon, which only runs on interface names
        if name.endswith(".json") and not name.startswith(".") and os.path.isfile(full):
            found[name[:-5]] = full  # <if>.json wins over <if>/<if>.json, as in find()
        elif os.path.isdir(full) and os.path.isfile(state_path(full, name)):
            found.setdefault(name, state_path(full, name))
    return found


def age(document: Dict[str, Any], now_wall: float) -> float:
    return max(0.0, now_wall - float(document["updated"]))


def is_stale(document: Dict[str, Any], now_wall: float) -> bool:
    """True when the daemon has not refreshed its state for several query intervals, or when
    ``updated`` is not a time a live daemon wrote (not finite, or beyond the clock skew)."""
    updated = document["updated"]
    if not _finite(updated) or updated > now_wall + CLOCK_SKEW:
        return True
    interval = float(document["effective"].get("query_interval") or document["timers"]["query_interval"])
    return age(document, now_wall) > STALE_INTERVALS * interval + 1.0


def group_names(document: Dict[str, Any]) -> List[str]:
    return [g["group"] for g in document["groups"]]

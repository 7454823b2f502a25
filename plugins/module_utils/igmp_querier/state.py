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
from typing import Any, Dict, List, NamedTuple, Optional

from .election import NON_QUERIER, QUERIER

SCHEMA_VERSION = 2
#: Schemas this reader accepts: 1 (IPv4 only, before MLD) and 2 (the optional ``mld`` object).
READABLE_SCHEMAS = (1, 2)

#: A state file older than this many query intervals means a hung daemon.
STALE_INTERVALS = 3

#: key -> accepted JSON types of one address family's querier; the IPv4 side's keys sit at the
#: top level (with ``igmp_version``), the IPv6 side's in the ``mld`` object (with ``mld_version``).
SECTION_FIELDS = {
    "address": (str, type(None)),
    "role": (str,),  # "querier", "non-querier"
    "querier": (str, type(None)),
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
}
#: key -> accepted JSON types; every key is required in a valid state file.
FIELDS = dict(SECTION_FIELDS, **{
    "schema": (int,),
    "interface": (str,),
    "link": (str,),  # "up", "down", "absent"
    "igmp_version": (int,),
    "updated": (float, int),
    "started": (float, int),
    "pid": (int,),
    "version": (str,),
})
MLD_FIELDS = dict(SECTION_FIELDS, mld_version=(int,))

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


class Section(NamedTuple):
    """What the state file reports of one address family's querier beyond the :class:`Querier`."""

    querier: Any  # election.Querier
    address: Optional[str]
    malformed: int = 0
    send_errors: int = 0
    versions_heard: Optional[Dict[int, float]] = None  # version -> monotonic time last heard


def build(querier, *, interface: str, address: Optional[str], link: str, pid: int, version: str,
          started: float, malformed: int, now_mono: float, now_wall: float,
          send_errors: int = 0, versions_heard: Optional[Dict[int, float]] = None,
          mld: Optional[Section] = None) -> Dict[str, Any]:
    """Snapshot the IPv4 :class:`election.Querier` (and the MLD one, ``mld``) as a state document
    (wall-clock times)."""
    document = section(Section(querier, address, malformed, send_errors, versions_heard), "igmp_version",
                       now_mono, now_wall)
    document.update({
        "schema": SCHEMA_VERSION,
        "interface": interface,
        "link": link,
        "updated": round(now_wall, 3),
        "started": round(started, 3),
        "pid": pid,
        "version": version,
    })
    if mld is not None:
        document["mld"] = section(mld, "mld_version", now_mono, now_wall)
    return document


def section(side: Section, version_key: str, now_mono: float, now_wall: float) -> Dict[str, Any]:
    """The keys of one family's querier (:data:`SECTION_FIELDS`, the counters, the version)."""

    def wall(mono: Optional[float]) -> Optional[float]:
        return None if mono is None else round(now_wall - (now_mono - mono), 3)

    querier = side.querier
    timers = querier.timers
    return {
        "address": side.address,
        "role": str(querier.role),  # a plain str in the document, as the schema says
        "querier": querier.elected(now_mono),
        version_key: querier.version,
        "queries_sent": querier.queries_sent,
        "queries_heard": querier.queries_heard,
        "last_query_sent": wall(querier.last_query_sent),
        "last_query_heard": wall(querier.last_query_heard),
        "last_query_heard_from": querier.last_query_heard_from,
        "elections_won": querier.elections_won,
        "elections_lost": querier.elections_lost,
        "takeovers": querier.takeovers,
        "malformed_dropped": side.malformed,
        "queries_ignored": querier.queries_ignored,
        "groups_overflow": querier.groups.dropped,
        "send_errors": side.send_errors,
        "role_changes": querier.role_changes,
        "recent_role_changes": [wall(t) for t in querier.recent_role_changes],
        # version -> when a query of it was last heard from another host (health: mixed LAN)
        "versions_heard": {str(v): wall(t) for v, t in sorted((side.versions_heard or {}).items())},
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
#: Fields that hold an address of the section's family (or null); their text reaches the report and its messages.
ADDRESS_FIELDS = ("address", "querier", "last_query_heard_from")
ROLES = (QUERIER, NON_QUERIER)
LINKS = ("up", "down", "absent")
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


def _ip(value: Any, version: int, multicast: bool = False) -> bool:
    """``value`` is the text of an IPv4 / IPv6 address (a multicast one with ``multicast``)."""
    if not isinstance(value, str):  # IPv4Address() takes an int too
        return False
    try:
        address = ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return address.is_multicast or not multicast


class _Family(NamedTuple):
    """How one family's section of the state file is checked."""

    where: str  # "state" or "state mld": the prefix of every message
    ip: int  # 4 or 6
    label: str  # "IPv4", "IPv6"
    versions: tuple  # group entry versions (and the section's protocol version)
    version_key: str


_IGMP = _Family("state", 4, "IPv4", (1, 2, 3), "igmp_version")
_MLD = _Family("state mld", 6, "IPv6", (1, 2), "mld_version")


def _check_types(document: Dict[str, Any], fields: Dict[str, tuple], where: str) -> None:
    for key, types in fields.items():
        if key not in document:
            raise StateError("%s has no %r" % (where, key))
        value = document[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise StateError("%s field %r has type %s" % (where, key, type(value).__name__))
        if isinstance(value, (int, float)) and not _finite(value):
            raise StateError("%s field %r is %s, not a finite number" % (where, key, _show(value)))


def _check_text(document: Dict[str, Any]) -> None:
    """The text fields hold what the daemon writes, never arbitrary text (escape sequences)."""
    if document["link"] not in LINKS:
        raise StateError("state field 'link' is %s, expected %s" % (_show(document["link"]), " or ".join(LINKS)))
    if not is_interface_name(document["interface"]):
        raise StateError("state field 'interface' is %s, not an interface name" % _show(document["interface"]))
    version = document["version"]
    if not 0 < len(version) <= MAX_VERSION_LENGTH or not version.isprintable() or not version.isascii():
        raise StateError("state field 'version' is %s, not a version" % _show(version))


def _check_section(document: Dict[str, Any], family: _Family) -> None:
    """One family's querier: addresses of its family, role, counters, groups, timers."""
    where = family.where
    for key, default in COUNTERS.items():
        value = document.setdefault(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise StateError("%s field %r has type %s" % (where, key, type(value).__name__))
    for key in ADDRESS_FIELDS:
        if document[key] is not None and not _ip(document[key], family.ip):
            raise StateError("%s field %r is %s, not an %s address" % (where, key, _show(document[key]), family.label))
    if document["role"] not in ROLES:
        raise StateError("%s field 'role' is %s, expected %s" % (where, _show(document["role"]), " or ".join(ROLES)))
    if family.ip == 6 and document[family.version_key] not in family.versions:
        raise StateError("%s field %r is %s, expected %s" % (
            where, family.version_key, _show(document[family.version_key]), " or ".join(map(str, family.versions))))
    recent = document.setdefault("recent_role_changes", [])
    if not isinstance(recent, list) or not all(_finite(t) for t in recent):
        raise StateError("%s field 'recent_role_changes' is not a list of times" % where)
    for entry in document["groups"]:
        _check_group(entry, family)
    _check_timers(where, "timers", document["timers"], TIMER_FIELDS)
    _check_timers(where, "effective", document["effective"], EFFECTIVE_FIELDS)


def _check_timers(where: str, name: str, timers: Dict[str, Any], required) -> None:
    """Known timers are finite non-negative numbers; others (a newer daemon's) numbers or null."""
    for key in required:
        if key not in timers and name == "timers":
            raise StateError("%s timers lack %r" % (where, key))
    for key, value in timers.items():
        if value is None and key not in required:
            continue
        if not _finite(value) or value < 0:
            raise StateError("%s %s %s is %s, not a finite number of seconds or queries" % (
                where, name, _show(key), _show(value)))
    if name == "timers" and not timers["query_interval"] > 0:
        raise StateError("%s timers 'query_interval' is %s, not above 0" % (where, _show(timers["query_interval"])))


def _check_group(entry: Any, family: _Family = _IGMP) -> None:
    where = family.where
    if not isinstance(entry, dict) or any(k not in entry for k in GROUP_FIELDS):
        raise StateError("%s group entry %s lacks %s" % (where, _show(entry), ", ".join(GROUP_FIELDS)))
    problem, expected = None, None
    if not _ip(entry["group"], family.ip, multicast=True):
        problem, expected = "group", "an %s multicast address" % family.label
    elif entry["last_reporter"] is not None and not _ip(entry["last_reporter"], family.ip):
        problem, expected = "last_reporter", "an %s address or null" % family.label
    elif isinstance(entry["version"], bool) or entry["version"] not in family.versions:
        problem, expected = "version", ", ".join(map(str, family.versions[:-1])) + " or %d" % family.versions[-1]
    elif entry["expires"] is not None and not _finite(entry["expires"]):
        problem, expected = "expires", "a finite time or null"
    else:
        odd = [k for k, v in entry.items() if not isinstance(v, _SCALARS) or isinstance(v, float) and not math.isfinite(v)]
        if odd:
            problem, expected = odd[0], "a finite scalar"
    if problem is not None:
        raise StateError("%s group entry %s: %s is %s, expected %s" % (
            where, _show(entry["group"]), _show(problem), _show(entry[problem]), expected))


def validate(document: Any, now_wall: Optional[float] = None) -> Dict[str, Any]:
    """Check a parsed state document against the schema; raise :class:`StateError`.

    Schema 1 files (written before MLD) are read as they are; in schema 2 the optional ``mld``
    object is checked like the top level, with IPv6 addresses. With ``now_wall``, an ``updated``
    more than :data:`CLOCK_SKEW` ahead of it is invalid too. Every number must be finite (so
    ``age``, ``is_stale`` and the module's report cannot fail).
    """
    if not isinstance(document, dict):
        raise StateError("state is not a JSON object")
    schema = document.get("schema")
    if isinstance(schema, bool) or schema not in READABLE_SCHEMAS:
        raise StateError("state schema %s, expected %s" % (_show(schema), " or ".join(map(str, READABLE_SCHEMAS))))
    _check_types(document, FIELDS, "state")
    _check_text(document)
    _check_section(document, _IGMP)
    if "mld" in document:
        mld = document["mld"]
        if schema < 2 or not isinstance(mld, dict):
            raise StateError("state field 'mld' is %s, not an object of schema 2" % _show(mld))
        _check_types(mld, MLD_FIELDS, "state mld")
        _check_section(mld, _MLD)
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

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE). The MIT License is compatible with the
# GNU General Public License version 3, under which Ansible is distributed.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: igmp_status
short_description: Report the live state of the IGMP querier instances on a host
version_added: "0.1.0"
description:
  - Reads the state file that each C(igmp-querier@IFACE) daemon keeps up to date and asks
    systemd whether the unit is installed, active and enabled.
  - Reports per interface the daemon's role (querier or non-querier), its address, the elected
    querier, the query counters, the age of the last query sent and heard, the learned group
    table, and whether the state file is stale (not refreshed for several query intervals, so
    the daemon is hung or dead).
  - With O(listen) above zero, also captures IGMP and MLD on the interfaces for that many seconds
    and reports every querier heard on the wire, ours or not, of either family.
  - When the daemon also runs the MLD querier (C(--mld-version)), reports its IPv6 side beside
    the IGMP one in RV(interfaces.mld), names it in the one-line summary and judges its health too.
    State files of daemons without MLD, and of versions before it, are read as before.
  - Judges the health of each instance (V(ok), V(warning) or V(critical), with reasons; see
    RV(interfaces.health)) and, with O(fail_on), fails the host when one is that bad or worse, so
    C(ansible all -m multicast.igmp.igmp_status -a fail_on=critical) is an alert check.
  - Never changes anything. A host without the daemon is not an error; it reports
    C(installed=false) in RV(interfaces).
author:
  - multicast.igmp developers (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: The module never changes anything, so check mode runs it normally.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Target OS/families that can be operated against.
    details:
      - "Linux hosts only: O(listen) captures with AF_PACKET sockets, and the daemon it reports on is Linux-only."
options:
  interface:
    description:
      - The interface whose querier to report, for example V(eth0).
      - When omitted, every instance present on the host is reported, that is every interface
        with a state file below O(state_dir) and every C(igmp-querier@IFACE.service) unit that
        systemd knows or that is enabled.
    type: str
  state_dir:
    description:
      - The daemon's state directory. The module reads C(STATE_DIR/IFACE.json) and, the layout
        under systemd, C(STATE_DIR/IFACE/IFACE.json).
    type: path
    default: /run/igmp-querier
  listen:
    description:
      - Seconds to capture IGMP and MLD on the interfaces and report every querier heard in
        the C(heard) list of each RV(interfaces) entry (IGMP queriers first, then MLD ones, each
        with its C(family)). V(0) does not capture.
      - The host's own MLD queries are not captured (only IGMP is seen leaving); the MLD side's
        own queries show in C(queries_sent) of RV(interfaces.mld).
      - Capturing needs CAP_NET_RAW (root, for example C(become=true) or C(ansible -b)); without
        it the module fails with a message that says so, and still returns the status.
      - Without O(interface) and with no instance on the host, captures on every interface
        that is up and has an IPv4 address, except loopback.
      - To see a querier's interval, listen for more than twice its query interval.
    type: float
    default: 0
  fail_on:
    version_added: "0.2.0"
    description:
      - Fail the host when the health of an instance is this level or worse. V(never) only reports.
      - V(critical) is reached when the daemon is not running, its state file is stale or
        unreadable, no query was sent or heard for longer than the takeover timeout, the elected
        querier is 0.0.0.0 or not among O(queriers), or (with O(listen)) two queriers are heard
        querying at once. The same rules judge the MLD side, when there is one (codes with the
        prefix C(mld_)).
      - V(warning) adds a unit that is not enabled, a link that is down, mixed IGMP versions on
        the LAN, role flapping, a full group table and send errors.
    type: str
    choices: [never, warning, critical]
    default: never
  queriers:
    version_added: "0.2.0"
    description:
      - The IPv4 addresses of the LAN's queriers that are ours (for example every host running
        the C(querier) role on that LAN). An elected querier not in this list is V(critical).
      - IPv6 link-local addresses in the list are our MLD queriers; the MLD side's elected
        querier is judged against them (and not judged when the list has none).
      - When omitted, a foreign querier is not judged.
    type: list
    elements: str
notes:
  - The state file is written by the daemon; see the C(querier) role of this collection.
  - On a host where systemd is not running (for example a container without it), C(active) and
    C(enabled) of each RV(interfaces) entry are V(null) and RV(systemd.note) says why.
seealso:
  - module: multicast.igmp.igmp_probe
"""

EXAMPLES = r"""
- name: Report every querier instance on the host
  multicast.igmp.igmp_status:
  register: igmp

- name: Print the one-line summaries
  ansible.builtin.debug:
    msg: "{{ igmp.msg }}"

- name: Listen on eth0 for 130 seconds and report every querier heard there
  multicast.igmp.igmp_status:
    interface: eth0
    listen: 130
  become: true

- name: Fail when an instance has a stale state file
  ansible.builtin.assert:
    that: igmp.interfaces | dict2items | selectattr('value.stale') | list | length == 0
    fail_msg: "{{ igmp.msg }}"

- name: Fail the host when a querier instance is unhealthy
  multicast.igmp.igmp_status:
    fail_on: critical
    queriers: [192.168.1.10, 192.168.1.21, 192.168.1.30]  # our querier hosts on this LAN

# Ad hoc, over a whole LAN:
#   ansible all -m multicast.igmp.igmp_status
#   ansible all -m multicast.igmp.igmp_status -a fail_on=critical    # an alert check: fails on trouble
#   ansible all -b -m multicast.igmp.igmp_status -a 'interface=eth0 listen=130'
"""

RETURN = r"""
msg:
  description: The one-line summaries of all interfaces, one per line.
  returned: always
  type: str
  sample: "eth0: IGMP querier 10.0.0.9 (us), 42 sent, 3 groups; MLD querier fe80::9 (us), 40 sent, 2 groups"
state_dir:
  description: The state directory that was read.
  returned: always
  type: str
  sample: /run/igmp-querier
health:
  description:
    - The worst health of the instances (V(ok), V(warning) or V(critical)); V(ok) without any.
  returned: always
  type: str
  sample: ok
listened:
  description: Seconds the module captured IGMP (V(0) without O(listen)).
  returned: always
  type: float
  sample: 0.0
systemd:
  description: Whether systemd could be asked about the units.
  returned: always
  type: dict
  contains:
    available:
      description: V(true) when systemd runs on the host and C(systemctl) was found.
      type: bool
      sample: true
    note:
      description: Why systemd was not asked, or V(null).
      type: str
      sample: null
interfaces:
  description: One entry per reported interface, keyed by interface name.
  returned: always
  type: dict
  sample:
    eth0:
      interface: eth0
      installed: true
      active: true
      enabled: true
      role: querier
      address: 10.0.0.9
      querier: 10.0.0.9
      is_querier: true
      queries_sent: 42
      queries_heard: 0
      stale: false
      groups: [{group: 239.1.2.3, last_reporter: 10.0.0.20, version: 2, expires: 1767225600.0, expires_in: 101.3}]
      msg: "eth0: querier 10.0.0.9 (us), 42 sent, 1 group"
  contains:
    interface:
      description: The interface name.
      type: str
      sample: eth0
    exists:
      description: Whether the interface exists in the host's network namespace.
      type: bool
      sample: true
    installed:
      description:
        - Whether a querier instance is installed on the interface. True when a state file is
          present, a unit file or drop-in or an enabled link for C(igmp-querier@IFACE.service) is
          present, or systemd reports the unit enabled or not inactive.
      type: bool
      sample: true
    active:
      description: Whether systemd reports the unit active; V(null) without systemd.
      type: bool
      sample: true
    enabled:
      description: Whether systemd reports the unit enabled; V(null) without systemd.
      type: bool
      sample: true
    unit:
      description: What systemd reports about C(igmp-querier@IFACE.service); V(null) without systemd.
      type: dict
      sample: {name: igmp-querier@eth0.service, load_state: loaded, active_state: active, sub_state: running, unit_file_state: enabled}
    state_file:
      description: The state file read, or V(null) when there is none.
      type: str
      sample: /run/igmp-querier/eth0/eth0.json
    state_error:
      description:
        - Why the state file could not be used, or V(null). A file that is not a regular file,
          larger than 2 MiB, not valid JSON, not of the schema, with a number that is not finite,
          or written more than 5 seconds in the future is an error of its interface alone; the
          other interfaces are still reported.
      type: str
      sample: null
    role:
      description: The daemon's role, V(querier) or V(non-querier); V(null) without a state file.
      type: str
      sample: querier
    link:
      description: The link state the daemon sees, V(up), V(down) or V(absent).
      type: str
      sample: up
    address:
      description: The daemon's IPv4 source address on the interface.
      type: str
      sample: 10.0.0.9
    querier:
      description: The elected querier on the LAN as the daemon sees it (its own address when it queries).
      type: str
      sample: 10.0.0.9
    is_querier:
      description: Whether this host is the elected querier.
      type: bool
      sample: true
    queries_sent:
      description: General and group-specific queries sent since the daemon started.
      type: int
      sample: 42
    queries_heard:
      description: Queries heard from other queriers since the daemon started.
      type: int
      sample: 0
    last_query_sent_age:
      description: Seconds since the daemon last sent a query, or V(null).
      type: float
      sample: 12.5
    last_query_heard_age:
      description: Seconds since the daemon last heard another querier's query, or V(null).
      type: float
      sample: null
    last_query_heard_from:
      description: The source of the last query heard, or V(null).
      type: str
      sample: null
    state_age:
      description: Seconds since the daemon last wrote its state file.
      type: float
      sample: 12.4
    stale:
      description:
        - V(true) when the state file has not been refreshed for more than three query intervals
          (the daemon is hung, or stopped and left it behind).
      type: bool
      sample: false
    groups:
      description: The group memberships the daemon learned from reports.
      type: list
      elements: dict
      sample: [{group: 239.1.2.3, last_reporter: 10.0.0.20, version: 2, expires: 1767225600.0, expires_in: 101.3}]
    igmp_version:
      description: The IGMP version of the daemon's queries.
      type: int
      sample: 2
    timers:
      description: The configured timers (seconds) of the daemon.
      type: dict
      sample: {query_interval: 60, max_response_time: 10, robustness: 2, startup_query_count: 2, startup_query_interval: 15, timeout: 125}
    effective:
      description: The timers in force (adopted from an IGMPv3 querier's QRV and QQIC when we are not querier).
      type: dict
      sample: {query_interval: 60, robustness: 2, timeout: 125}
    elections_won:
      description: Times the daemon outranked a higher-addressed querier.
      type: int
      sample: 0
    elections_lost:
      description: Times the daemon yielded to a lower-addressed querier.
      type: int
      sample: 0
    takeovers:
      description: Times the daemon took over after the elected querier fell silent.
      type: int
      sample: 0
    malformed_dropped:
      description: Malformed IGMP packets the daemon dropped.
      type: int
      sample: 0
    queries_ignored:
      description:
        - Queries the daemon ignored because hosts would not act on them (misaddressed, IP TTL
          other than 1, malformed IP options); they do not count for the election.
        - V(0) when the daemon's state file predates this counter.
      type: int
      sample: 0
    groups_overflow:
      description:
        - Reports for new groups the daemon refused because its group table was full.
        - V(0) when the daemon's state file predates this counter.
      type: int
      sample: 0
    send_errors:
      description:
        - Queries that could not leave (send congestion, a failed socket).
        - V(0) when the daemon's state file predates this counter.
      type: int
      sample: 0
    role_changes:
      description:
        - Querier to non-querier transitions and back since the daemon started.
        - V(0) when the daemon's state file predates this counter.
      type: int
      sample: 1
    pid:
      description: The daemon's process id.
      type: int
      sample: 812
    daemon_version:
      description: The daemon's version.
      type: str
      sample: 0.1.0
    uptime:
      description: Seconds since the daemon started.
      type: float
      sample: 3600.2
    mld:
      description:
        - The MLD querier of the daemon (IPv6), V(null) when the daemon runs without it (or its
          state file predates it). The keys of the entry above that describe one querier, with
          C(mld_version) (1 or 2) for C(igmp_version); addresses are IPv6, C(address) is the
          link-local source, V(null) while the interface has no usable one (the MLD side waits).
      type: dict
      sample: {address: "fe80::9", role: querier, querier: "fe80::9", is_querier: true, mld_version: 2, queries_sent: 40,
               queries_heard: 0, queries_ignored: 0, last_query_sent_age: 10.1, last_query_heard_age: null,
               last_query_heard_from: null, elections_won: 0, elections_lost: 0, takeovers: 0, malformed_dropped: 0,
               groups_overflow: 0, send_errors: 0, role_changes: 0,
               groups: [{group: "ff05::1:3", last_reporter: "fe80::20", version: 2, expires: 1767225600.0, expires_in: 101.3}],
               timers: {query_interval: 60, max_response_time: 10, robustness: 2, startup_query_count: 2,
                        startup_query_interval: 15, timeout: 125},
               effective: {query_interval: 60, robustness: 2, timeout: 125}}
    heard:
      description:
        - With O(listen) above zero, one entry per source of queries heard on the wire during the
          capture, lowest address (the election winner) first; V(null) without O(listen).
          IGMP queriers first, then MLD queriers.
      type: list
      elements: dict
      contains:
        source:
          description: Source address of the queries (V(0.0.0.0) is a snooping switch's proxy query).
          type: str
          sample: 10.0.0.9
        family:
          description: V(ipv4) for an IGMP querier, V(ipv6) for an MLD querier.
          type: str
          sample: ipv4
        version:
          description: IGMP version of its latest query (MLD version for an MLD querier).
          type: int
          sample: 2
        versions:
          description: Every IGMP version heard from it.
          type: list
          elements: int
          sample: [2]
        count:
          description: Queries heard from it.
          type: int
          sample: 3
        general:
          description: General Queries heard from it.
          type: int
          sample: 3
        group_specific:
          description: Group-specific queries heard from it.
          type: int
          sample: 0
        interval:
          description: Mean seconds between its General Queries; V(null) with fewer than two.
          type: float
          sample: 60.0
        max_response:
          description: Max response time (seconds) of its latest General Query.
          type: float
          sample: 10.0
        qrv:
          description: IGMPv3 Querier's Robustness Variable (V(0) when not given).
          type: int
          sample: 0
        qqi:
          description: IGMPv3 Querier's Query Interval in seconds (V(0) when not given).
          type: int
          sample: 0
        first_seen:
          description: When its first query was heard (seconds since the epoch).
          type: float
          sample: 1767225600.1
        last_seen:
          description: When its latest query was heard (seconds since the epoch).
          type: float
          sample: 1767225720.1
        last_seen_age:
          description: Seconds between its latest query and the end of the capture.
          type: float
          sample: 9.9
        own:
          description: Whether this host sent it.
          type: bool
          sample: true
        router_alert:
          description: Whether its latest query carried the IP Router Alert option.
          type: bool
          sample: true
        ttl:
          description: The IP TTL of its latest query (hosts act on queries with TTL 1 only).
          type: int
          sample: 1
    listen:
      description:
        - With O(listen) above zero, what the capture on this interface saw in total; V(null) otherwise.
        - C(unlisted) counts queries from sources beyond the 256 lowest-addressed ones, which are
          all that RV(interfaces.heard) lists (a flood of spoofed sources cannot grow the report).
        - C(mld) holds the same counters of the MLD capture (C(elected) the lowest IPv6 source),
          with its own C(error) (for example IPv6 disabled on the interface); V(null) when the
          capture failed as a whole.
      type: dict
      sample: {seconds: 130.0, elected: 10.0.0.9, packets: 7, reports: 4, other: 0, malformed: 0, last_malformed: null,
               unlisted: 0, error: null, mld: {elected: "fe80::9", packets: 5, reports: 3, other: 0, malformed: 0,
                                                last_malformed: null, unlisted: 0, error: null}}
    health:
      description:
        - The health of the instance, V(ok), V(warning) or V(critical); V(null) for an interface
          without an instance that O(interface) did not name.
      type: str
      sample: ok
    health_reasons:
      description:
        - Why the health is not V(ok), worst first. Codes (level) - V(not_installed),
          V(not_running), V(no_state), V(state_unreadable), V(stale), V(no_querier),
          V(foreign_querier), V(querier_unspecified), V(two_queriers) (critical); V(not_enabled), V(link_down),
          V(mixed_versions), V(flapping), V(groups_full), V(send_errors) (warning).
        - The MLD side's reasons carry the same codes with the prefix C(mld_) (V(mld_no_querier),
          V(mld_querier_unspecified) for ::, ...) and a message that starts with C(MLD:).
      type: list
      elements: dict
      sample: [{code: stale, level: critical, msg: "state file not refreshed (age 200 s, limit 181 s): daemon hung or dead"}]
    msg:
      description: One line for humans.
      type: str
      sample: "eth0: non-querier, querier is 10.0.0.9 (heard 2.1 s ago), 3 groups"
"""

import ipaddress
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.multicast.igmp.plugins.module_utils import observe
from ansible_collections.multicast.igmp.plugins.module_utils._common import text_option_errors
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import _systemd, health, netif, state, status

MAX_LISTEN = 600.0
IPV4 = re.compile(r"^[0-9]{1,3}([.][0-9]{1,3}){3}$")

# The report of an interface follows the state schema (state.FIELDS, state.COUNTERS): each key
# is copied as it is, unless it is reported under another name (DERIVED) or not at all.
DERIVED = {
    "last_query_sent": "last_query_sent_age",
    "last_query_heard": "last_query_heard_age",
    "groups": "groups",  # each group with its expires_in
    "updated": "state_age",
    "started": "uptime",
    "version": "daemon_version",
}
UNREPORTED = ("schema", "interface")  # the entry's own interface name stands for the file's
COPIED = tuple(key for key in list(state.FIELDS) + list(state.COUNTERS) if key not in DERIVED and key not in UNREPORTED)
#: Computed from several keys: is_querier (role), stale (updated and the query interval).
COMPUTED = ("is_querier", "stale")
#: What the module itself says of an interface, with a state file or without.
OWN_KEYS = ("interface", "exists", "installed", "active", "enabled", "unit", "state_file", "state_error",
            "heard", "listen", "mld", "msg")
REPORT_KEYS = OWN_KEYS + COPIED + tuple(DERIVED.values()) + COMPUTED


# The MLD side's report (``mld``) follows the state's "mld" object (state.MLD_FIELDS, the
# counters) as the top level follows the document, with the same derived keys.
MLD_COPIED = tuple(key for key in list(state.MLD_FIELDS) + list(state.COUNTERS) if key not in DERIVED)
MLD_DERIVED = ("last_query_sent_age", "last_query_heard_age", "groups")
MLD_REPORT_KEYS = MLD_COPIED + MLD_DERIVED + ("is_querier",)
#: health.py's rules that judge one family's querier; the others judge the daemon, once.
MLD_RULES = ("no_querier", "foreign_querier", "two_queriers", "mixed_versions", "flapping", "groups_full",
             "send_errors")


def _age(now, then):
    return None if then is None else round(max(0.0, now - float(then)), 3)


def _plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def report(interface, now, document=None, state_file=None, state_error=None, unit=None, systemd_available=False,
           files=(), exists=True, heard=None, listen=None, ours=None, named=False):
    """The entry of one interface: pure, from what was read (``now`` is the wall clock)."""
    entry = dict.fromkeys(REPORT_KEYS)
    entry.update(interface=interface, exists=exists, installed=False, unit=unit, state_file=state_file,
                 state_error=state_error, heard=heard, listen=listen, msg="")
    active_state = None  # systemd's word on the unit, when the unit exists
    if systemd_available and unit is not None:
        entry["active"] = unit.get("active_state") == "active"
        entry["enabled"] = unit.get("unit_file_state") in _systemd.ENABLED_LIKE
        if unit.get("load_state") == "loaded":
            active_state = unit.get("active_state")
    installed = bool(files) or state_file is not None or entry["enabled"] or active_state in _systemd.ACTIVE_LIKE
    entry["installed"] = bool(installed)

    if document is not None:
        doc = document
        entry.update((key, doc[key]) for key in COPIED)
        entry.update({
            "is_querier": doc["role"] == "querier",
            "last_query_sent_age": _age(now, doc["last_query_sent"]),
            "last_query_heard_age": _age(now, doc["last_query_heard"]),
            "state_age": round(state.age(doc, now), 3),
            "stale": state.is_stale(doc, now),
            "groups": [dict({key: g[key] for key in state.GROUP_FIELDS},
                            expires_in=None if g["expires"] is None else round(float(g["expires"]) - now, 3))
                       for g in doc["groups"]],
            "daemon_version": doc["version"],
            "uptime": _age(now, doc["started"]),
        })
        if isinstance(doc.get("mld"), dict):
            entry["mld"] = mld_report(doc["mld"], now)
    entry["msg"] = summary(entry, active_state)
    entry.update(judge(entry, document, now, active_state, ours, named))
    return entry


def mld_report(mld, now):
    """The ``mld`` entry of an interface from the state's "mld" object (already validated)."""
    entry = {key: mld.get(key, state.COUNTERS.get(key)) for key in MLD_COPIED}
    entry.update({
        "is_querier": mld.get("role") == "querier",
        "last_query_sent_age": _age(now, mld.get("last_query_sent")),
        "last_query_heard_age": _age(now, mld.get("last_query_heard")),
        "groups": [dict({key: g.get(key) for key in state.GROUP_FIELDS},
                        expires_in=None if g.get("expires") is None else round(float(g["expires"]) - now, 3))
                   for g in mld.get("groups") or []],
    })
    return entry


def _family(queriers, family):
    """The entries of a ``heard`` list of one family (entries without one are IGMP's)."""
    if queriers is None:
        return None
    return [q for q in queriers if q.get("family", observe.IPV4) == family]


def _normal(address):
    """An address in one spelling (IPv6 compressed), or as given when it is none."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def split_ours(ours):
    """``queriers`` -> (IPv4 addresses, IPv6 addresses); None for a family the list does not
    name, so that its elected querier is not judged foreign."""
    if ours is None:
        return None, None
    four = [a for a in ours if ":" not in a]
    six = [_normal(a) for a in ours if ":" in a]
    return (four if four or not six else None), (six or None)


def judge(entry, document, now, active_state, ours, named):
    """health and health_reasons of one entry (health.py decides; systemd counts only for a loaded unit).

    With an MLD side, its querier is judged by the same rules (``mld_``-prefixed codes)."""
    if not entry["installed"] and not named:
        return {"health": None, "health_reasons": []}
    loaded = active_state is not None
    ours4, ours6 = split_ours(ours)
    verdict = health.judge(
        document, now, installed=entry["installed"], active=(active_state == "active") if loaded else None,
        enabled=entry["enabled"] if loaded else None, state_error=entry["state_error"], ours=ours4,
        process_alive=status.process_alive(document.get("pid")) if document else None,
        heard=_family(entry["heard"], observe.IPV4))
    reasons = verdict["reasons"]
    if entry["mld"] is not None and not entry["stale"]:
        reasons += judge_mld(document, now, ours6, _family(entry["heard"], observe.IPV6))
    reasons.sort(key=lambda r: -health.LEVELS.index(r["level"]))
    return {"health": health.worst(r["level"] for r in reasons), "health_reasons": reasons}


def judge_mld(document, now, ours6, heard6):
    """The reasons health.py gives the MLD side: the document with its "mld" object in place of
    the IGMP fields, judged by :data:`MLD_RULES` (the daemon-wide rules were judged once)."""
    mld = document["mld"]
    side = dict(document)
    side.update((key, mld[key]) for key in mld if key in side or key in state.COUNTERS
                or key in ("recent_role_changes", "versions_heard"))
    side["igmp_version"] = mld.get("mld_version")
    querier = mld.get("querier")
    side["querier"] = None if querier == "::" else querier
    if ours6 is not None and isinstance(querier, str):
        side["querier"] = _normal(querier)
    heard6 = None if heard6 is None else [q for q in heard6 if q.get("source") != "::"]
    verdict = health.judge(side, now, ours=ours6, heard=heard6)
    reasons = [{"code": "mld_" + r["code"], "level": r["level"],
                "msg": "MLD: " + r["msg"].replace("IGMP", "MLD")}
               for r in verdict["reasons"] if r["code"] in MLD_RULES]
    if querier == "::":
        reasons.append({"code": "mld_querier_unspecified", "level": health.CRITICAL,
                        "msg": "MLD: elected querier is :: (not a valid querier address)"})
    return reasons


def summary(entry, active_state=None):
    """The one line for humans."""
    name = entry["interface"]
    if entry["state_error"]:
        line = "%s: unreadable state file: %s" % (name, entry["state_error"])
    elif entry["role"] is None:
        if not entry["installed"]:
            line = "%s: no querier installed" % name
            if not entry["exists"]:
                line += " (no such interface)"
        elif active_state == "active":
            line = "%s: daemon active, no state file yet" % name
        elif active_state:
            line = "%s: installed, daemon not running (%s)" % (name, active_state)
        else:
            line = "%s: installed, no state file" % name
    elif entry["stale"]:
        if active_state and active_state != "active":
            line = "%s: daemon not running (%s), state left behind is %.0f s old" % (
                name, active_state, entry["state_age"])
        else:
            line = "%s: STALE state (%.0f s old): daemon hung?" % (name, entry["state_age"])
    elif entry["link"] != "up":
        line = "%s: link %s, daemon waiting (%s, %s sent)" % (name, entry["link"], entry["role"], entry["queries_sent"])
        if active_state and active_state != "active":
            line += "; systemd says %s" % active_state
    else:
        mld = entry["mld"]
        line = "%s: %s%s" % (name, "IGMP " if mld else "", side_summary(entry))
        if mld:
            line += "; MLD " + side_summary(mld)
        if active_state and active_state != "active":
            line += "; systemd says %s" % active_state
    listen = entry["listen"]
    if listen is not None:
        if listen.get("error"):
            line += "; listen failed: %s" % listen["error"]
        elif entry["heard"]:
            line += "; heard " + ", ".join(observe.describe(q) for q in entry["heard"])
        else:
            line += "; heard no query in %.0f s" % listen["seconds"]
        six = listen.get("mld") or {}
        if entry["mld"] and six.get("error") and not listen.get("error"):
            line += "; MLD not captured: %s" % six["error"]
    return line


def valid_querier_address(address):
    """A querier address as ``queriers`` takes them: dotted-quad IPv4, or IPv6 link-local (MLD
    queriers query from their link-local address, RFC 3810 s.5.1.14)."""
    if IPV4.match(address):
        return all(int(part) <= 255 for part in address.split("."))
    try:
        return ":" in address and "%" not in address and ipaddress.IPv6Address(address).is_link_local
    except ValueError:
        return False


def side_summary(side):
    """What one family's querier does: ``querier 10.0.0.9 (us), 42 sent, 3 groups``."""
    groups = _plural(len(side["groups"]), "group")
    if side["address"] is None and "mld_version" in side:
        return "waiting for a link-local address (%s, %s)" % (side["role"], groups)
    if side["is_querier"]:
        return "querier %s (us), %d sent, %s" % (side["address"], side["queries_sent"], groups)
    if side["querier"]:
        heard = ""
        if side["last_query_heard_age"] is not None:
            heard = " (heard %.1f s ago)" % side["last_query_heard_age"]
        return "non-querier, querier is %s%s, %s" % (side["querier"], heard, groups)
    return "non-querier, no querier heard, %s" % groups


def main():
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type="str"),
            state_dir=dict(type="path", default="/run/igmp-querier"),
            listen=dict(type="float", default=0.0),
            fail_on=dict(type="str", default="never", choices=["never", "warning", "critical"]),
            queriers=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    interface = module.params["interface"]
    state_dir = module.params["state_dir"]
    listen = module.params["listen"]
    errors = text_option_errors(module.params, ("interface", "state_dir"))
    if errors:
        module.fail_json(msg="; ".join(errors))
    if interface is not None and not state.is_interface_name(interface):
        module.fail_json(msg="interface must be a Linux interface name (1..15 bytes, no '/' or spaces), got %r"
                         % interface)
    if not 0 <= listen <= MAX_LISTEN:  # NaN fails this too
        module.fail_json(msg="listen must be 0..%g seconds, got %g" % (MAX_LISTEN, listen))
    ours = module.params["queriers"]
    for address in ours or []:
        if not valid_querier_address(address):
            module.fail_json(msg="queriers must list IPv4 addresses or IPv6 link-local addresses (fe80::/10), got %r"
                             % address)

    systemd = _systemd.Systemd(module.get_bin_path("systemctl"), module.run_command, module.warn)
    found = state.discover(state_dir)
    if interface is not None:
        names = [interface]
    else:
        # unit names come from systemd and the file system: only real interface names go on
        names = sorted(name for name in set(found) | systemd.instances() | _systemd.enabled_instances()
                       if state.is_interface_name(name))

    listen_names = names
    if listen > 0 and interface is None and not names:
        listen_names = observe.default_listen_interfaces()
    if listen > 0 and interface is not None and not netif.index(interface):
        module.fail_json(msg="cannot listen: " + netif.missing_interface_message(interface))
    heard = observe.listen_on(listen_names, listen) if listen > 0 else {}

    now = time.time()
    result = {}
    for name in sorted(set(names) | set(heard)):
        path = found.get(name) or state.find(state_dir, name)
        document = error = None
        if path is not None:
            try:
                document = state.read(path, now_wall=now)
            except state.StateError as exc:
                error = str(exc)
        queriers, counters = heard.get(name, (None, None))
        entry = report(
            name, now, document=document, state_file=path, state_error=error, unit=systemd.show(name),
            systemd_available=systemd.available, files=_systemd.unit_files(name), exists=bool(netif.index(name)),
            heard=queriers, listen=counters, ours=ours, named=name == interface,
        )
        result[name] = entry
        if entry["stale"] or entry["state_error"]:
            module.warn(entry["msg"])

    lines = [result[name]["msg"] for name in sorted(result)]
    if not lines:
        lines = ["no igmp-querier instance on this host (no state file in %s, no %s*.service unit)"
                 % (state_dir, _systemd.UNIT_TEMPLATE)]
        if listen > 0:
            lines[0] += "; no interface to listen on"
    output = dict(
        changed=False,
        interfaces=result,
        msg="\n".join(lines),
        state_dir=state_dir,
        listened=float(listen),
        systemd=dict(available=systemd.available, note=systemd.note),
        health=health.worst(e["health"] for e in result.values() if e["health"] is not None),
    )
    failing = [(name, e) for name, e in sorted(result.items())
               if e["health"] is not None and health.at_least(e["health"], module.params["fail_on"])]
    if failing:
        output["msg"] = "".join("%s: health %s\n" % (name, health.summary({"health": e["health"], "reasons": e["health_reasons"]}))
                                for name, e in failing) + output["msg"]
        module.fail_json(**output)
    denied = sorted(name for name, (queriers, counters) in heard.items()
                    if queriers is None and "CAP_NET_RAW" in (counters.get("error") or ""))
    if denied:
        output["msg"] = ("listen=%g needs CAP_NET_RAW to capture IGMP on %s: run as root (become: true, or ansible -b), "
                         "or leave listen at 0 for the status alone\n" % (listen, ", ".join(denied))) + output["msg"]
        module.fail_json(**output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()

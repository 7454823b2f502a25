# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The daemon's options, declared once: the command line (config.py), the role's variables, checks
and settings files (plugins/filter/querier.py) and the tests of the docs all read this table.

Rules between options (max response below the interval, the IGMPv2 limit, the snooping-timeout
rules, the timeout cap) are code in config.validate(); simple bounds are here.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Tuple

from .timers import (
    DEFAULT_IGMP_VERSION, DEFAULT_QUERY_INTERVAL, DEFAULT_ROBUSTNESS, DEFAULT_SNOOPING_TIMEOUT, DEFAULT_STATE_DIR,
    MAX_QUERY_INTERVAL, MAX_ROBUSTNESS, MAX_SNOOPING_TIMEOUT, MAX_TIMEOUT, MIN_QUERY_INTERVAL, human,
)

ROLE_PREFIX = "igmp_querier_"


class Option(NamedTuple):
    """One daemon option. ``kind``: float, int, str or switch (a flag without a value).
    ``low``/``high``: an inclusive range checked with the generic message of :func:`range_text`.
    ``role``: a role variable igmp_querier_<name>, also settable per interface.
    ``timer``: reported under ``timers`` in the state file.
    ``doc``: the role variable's description, paragraphs in Ansible markup (C(), V()) that may use
    {flag}, {low}, {high}, {default}; ``default_doc``: what unset means. The role's argument spec,
    defaults and the README tables are generated from these (python -m tests.options_docs)."""

    name: str
    flags: Tuple[str, ...]
    kind: str
    default: Any
    help: str
    metavar: Optional[str] = None
    low: Optional[float] = None
    high: Optional[float] = None
    choices: Optional[Tuple[Any, ...]] = None
    unit: str = ""
    required: bool = False
    role: bool = False
    timer: bool = False
    doc: Tuple[str, ...] = ()
    default_doc: str = ""

    @property
    def flag(self) -> str:
        """The long flag, the one messages name."""
        return self.flags[-1]

    @property
    def variable(self) -> Optional[str]:
        return ROLE_PREFIX + self.name if self.role else None

    @property
    def role_type(self) -> str:
        """The type of the role variable in meta/argument_specs.yml."""
        return {"switch": "bool"}.get(self.kind, self.kind)

    @property
    def help_text(self) -> str:
        return self.help.format(low=_show(self.low), high=_show(self.high), default=_show(self.default))

    @property
    def doc_text(self) -> Tuple[str, ...]:
        """``doc`` with its placeholders filled in."""
        return tuple(paragraph.format(flag=self.flag, low=_show(self.low), high=_show(self.high),
                                      default=_show(self.default)) for paragraph in self.doc)


def _show(value: Any) -> str:
    return human(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def range_text(option: Option) -> str:
    """``1..255`` or ``1..31744 seconds``: the allowed range as messages and help print it."""
    return "%s..%s%s" % (human(option.low), human(option.high), " " + option.unit if option.unit else "")


#: In the order the role writes them into a settings file (and --help lists them).
OPTIONS = (
    Option("interface", ("-i", "--interface"), "str", None, "Network interface to bind to (e.g. eth0, enp1s0, br0)",
           required=True),
    Option("query_interval", ("-q", "--query-interval"), "float", DEFAULT_QUERY_INTERVAL,
           "Seconds between General Queries (default: {default}; {low}..{high})", metavar="SECONDS",
           low=MIN_QUERY_INTERVAL, high=MAX_QUERY_INTERVAL, unit="seconds", role=True, timer=True,
           doc=("Seconds between General Queries (C({flag})), {low} to {high}.",)),
    Option("robustness", ("--robustness",), "int", DEFAULT_ROBUSTNESS,
           "Robustness variable (default: {default}; {low}..{high}; above 7 is sent as QRV 0)", metavar="N",
           low=1, high=MAX_ROBUSTNESS, role=True, timer=True,
           doc=("Robustness variable (C({flag})), {low} to {high}; above 7 it is sent as QRV 0.",)),
    Option("igmp_version", ("--igmp-version",), "int", DEFAULT_IGMP_VERSION,
           "IGMP version of the queries sent (default: {default})", choices=(2, 3), role=True,
           doc=("IGMP version of the queries sent (C({flag})).",)),
    Option("mld_version", ("--mld-version",), "int", None,
           "Also run an MLD querier (IPv6) on the interface, sending MLD queries of this version "
           "(default: off, IPv4 only)", choices=(1, 2), role=True, default_doc="off (IPv4 only)",
           doc=("Also run an MLD querier (IPv6) on the interface (C({flag})), sending MLDv1 (V(1)) or MLDv2 "
                "(V(2)) queries; V(false), V(off) or unset runs none. The timers apply to both families; "
                "MLDv1 carries at most 65.5 s of max response time.",
                "Instances with MLD on may open IPv6 sockets (C(RestrictAddressFamilies=AF_INET6) in a "
                "drop-in); the others keep IPv4 only.")),
    Option("snooping_timeout", ("--snooping-timeout",), "float", DEFAULT_SNOOPING_TIMEOUT,
           "Membership timer of the LAN's snooping switches (default: {default}, the common value and the "
           "Linux bridge's). The takeover timeout never exceeds it minus the max response minus 1 s, "
           "whatever another querier advertises; query interval + max response must stay below it",
           metavar="SECONDS", high=MAX_SNOOPING_TIMEOUT, unit="seconds", role=True, timer=True,
           doc=("Membership timer of the LAN's snooping switches (C({flag})) in seconds; 260 is the common "
                "value and the Linux bridge's C(mcast_membership_interval).",
                "The takeover timeout in force never exceeds it minus the max response time minus 1 s, "
                "whatever QRV/QQIC another querier advertises, so a forged or misconfigured query cannot "
                "silence the querier for longer than the switches keep memberships.",
                "The query interval plus the max response time must be less than it.")),
    Option("max_response_time", ("-r", "--max-response-time"), "float", None,
           "Max response time advertised in queries, 0.1 s resolution (default: 10, or half the "
           "query interval when that is shorter; IGMPv2 at most 25.5, IGMPv3 at most 3174.4; less than "
           "the query interval)", metavar="SECONDS", unit="seconds", role=True, timer=True,
           default_doc="10 s, or half the query interval when that is shorter",
           doc=("Max response time advertised in queries (C({flag})), 0.1 s resolution, less than the "
                "query interval, at most 25.5 for IGMPv2 and 3174.4 for IGMPv3.",)),
    Option("timeout", ("-t", "--timeout"), "float", None,
           "Other Querier Present Interval: seconds without queries from the elected querier "
           "before taking over; greater than the query interval, at most the snooping timeout minus the "
           "max response minus 1 s (default: robustness x query interval + max response / 2, capped so)",
           metavar="SECONDS", high=MAX_TIMEOUT, unit="seconds", role=True, timer=True,
           default_doc="robustness x query interval + max response time / 2, capped like an explicit value",
           doc=("Other Querier Present Interval (C({flag})) in seconds, greater than the query interval and "
                "at most snooping timeout - max response time - 1 s.",)),
    Option("startup_query_count", ("--startup-query-count",), "int", None,
           "Queries in the startup burst (default: robustness; {low}..{high})", metavar="N",
           low=1, high=MAX_ROBUSTNESS, role=True, timer=True, default_doc="the robustness",
           doc=("Queries in the startup burst (C({flag})), {low} to {high}.",)),
    Option("startup_query_interval", ("--startup-query-interval",), "float", None,
           "Seconds between startup queries, 0.1 up to the query interval (default: query interval / 4)",
           metavar="SECONDS",
           low=0.1, unit="seconds", role=True, timer=True, default_doc="a quarter of the query interval",
           doc=("Seconds between startup queries (C({flag})), 0.1 up to the query interval.",)),
    Option("verbose", ("-v", "--verbose"), "switch", False, "Log every query sent and heard, and each new group",
           role=True,
           doc=("Log every query sent and heard (C({flag})).",)),
    Option("metrics_file", ("--metrics-file",), "str", None,
           "Also write Prometheus metrics (node_exporter textfile format, e.g. "
           "/var/lib/prometheus/node-exporter/igmp-querier-eth0.prom) at each state write", metavar="PATH"),
    Option("state_dir", ("--state-dir",), "str", DEFAULT_STATE_DIR,
           "Directory for the live state file <DIR>/<interface>.json (default: {default})", metavar="DIR"),
)

BY_NAME = {option.name: option for option in OPTIONS}
#: The settings a role variable (and an interface mapping) may set, in settings-file order.
ROLE_OPTIONS = tuple(option for option in OPTIONS if option.role)
#: The configured options the state file reports under ``timers``.
TIMER_OPTIONS = tuple(option for option in OPTIONS if option.timer)


def flag(name: str) -> str:
    return BY_NAME[name].flag

# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""Querier timers (RFC 2236 s.8, RFC 3376 s.8) and the command line that sets them.

Every invalid value is refused with one line that names the flag and the allowed range.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import NamedTuple, Optional, Sequence

from . import __version__
from .codec import MAX_FLOAT_CODE_VALUE, MAX_V2_RESPONSE_TENTHS

PROG = "igmp-querier"
DEFAULT_STATE_DIR = "/run/igmp-querier"
DEFAULT_QUERY_INTERVAL = 60.0
DEFAULT_MAX_RESPONSE = 10.0  # or half the query interval, when that is shorter
DEFAULT_ROBUSTNESS = 2
#: Membership timer of common snooping switches and of the Linux bridge (mcast_membership_interval).
DEFAULT_SNOOPING_TIMEOUT = 260.0
#: A takeover must leave the switches this long to see our first query before their timers run out.
SNOOPING_MARGIN = 1.0
LAST_MEMBER_QUERY_INTERVAL = 1.0  # RFC 2236 s.8.8 default

MIN_QUERY_INTERVAL = 1.0
MAX_QUERY_INTERVAL = float(MAX_FLOAT_CODE_VALUE)  # largest QQIC
MAX_ROBUSTNESS = 255
MAX_TIMEOUT = MAX_QUERY_INTERVAL * MAX_ROBUSTNESS
MAX_SNOOPING_TIMEOUT = MAX_TIMEOUT


class Timers(NamedTuple):
    """The configured protocol variables. Derived intervals are properties."""

    query_interval: float = DEFAULT_QUERY_INTERVAL
    max_response_time: float = DEFAULT_MAX_RESPONSE
    robustness: int = DEFAULT_ROBUSTNESS
    startup_query_count: Optional[int] = None  # default: robustness
    startup_query_interval: Optional[float] = None  # default: query interval / 4
    timeout: Optional[float] = None  # explicit Other Querier Present Interval
    igmp_version: int = 2
    last_member_query_interval: float = LAST_MEMBER_QUERY_INTERVAL
    snooping_timeout: float = DEFAULT_SNOOPING_TIMEOUT

    @property
    def startup_count(self) -> int:
        return self.startup_query_count if self.startup_query_count is not None else self.robustness

    @property
    def startup_interval(self) -> float:
        if self.startup_query_interval is not None:
            return self.startup_query_interval
        return self.query_interval / 4.0

    @property
    def timeout_cap(self) -> float:
        """The longest takeover timeout that still keeps the switches' memberships: a new querier's
        first query must reach the members, and their reports the switch, before its timer ends."""
        return timeout_cap(self.snooping_timeout, self.max_response_time)

    @property
    def other_querier_present_interval(self) -> float:
        """RFC 2236 s.8.5 / RFC 3376 s.8.5: robustness x QI + max response / 2, unless set;
        never above :attr:`timeout_cap`."""
        if self.timeout is not None:
            return self.timeout
        return min(rfc_timeout(self.robustness, self.query_interval, self.max_response_time), self.timeout_cap)

    @property
    def group_membership_interval(self) -> float:
        """RFC 2236 s.8.4: robustness x QI + max response."""
        return self.robustness * self.query_interval + self.max_response_time

    @property
    def max_response_tenths(self) -> int:
        return int(round(self.max_response_time * 10))


def rfc_timeout(robustness: int, query_interval: float, max_response_time: float) -> float:
    return robustness * query_interval + max_response_time / 2.0


def timeout_cap(snooping_timeout: float, max_response_time: float) -> float:
    return snooping_timeout - max_response_time - SNOOPING_MARGIN


def default_max_response(query_interval: float) -> float:
    """10 s, or half the query interval when that is shorter (0.1 s resolution, at least 0.1 s)."""
    return max(0.1, min(DEFAULT_MAX_RESPONSE, math.floor(query_interval * 5) / 10.0))


def human(value: float) -> str:
    """A number as people write it in a message: 8094720, 25.5, 0.25 (never 8.09472e+06)."""
    if not math.isfinite(value) or abs(value) >= 1e15:
        return "%g" % value
    if value == int(value):
        return "%d" % value
    return ("%.10f" % value).rstrip("0").rstrip(".")


class Config(NamedTuple):
    interface: str
    timers: Timers
    state_dir: str = DEFAULT_STATE_DIR
    verbose: bool = False
    metrics_file: Optional[str] = None


class UsageError(Exception):
    """A flag value outside its range; the message names the flag and the range."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage first otherwise)
        self.exit(2, "%s: error: %s (see --help)\n" % (self.prog, message))


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser(raising: bool = False) -> argparse.ArgumentParser:
    """The daemon's command line; ``raising``: errors raise :class:`UsageError` (for callers that
    check settings without exiting, e.g. the role's filter on the controller)."""
    parser = (_RaisingParser if raising else _Parser)(
        prog=PROG,
        description="IGMP querier daemon (RFC 2236 / RFC 3376): sends General Queries so that "
        "IGMP-snooping switches keep multicast memberships, and elects one querier per LAN "
        "(lowest IPv4 address wins).",
        epilog="Status of the instances on this host: %s status [IFACE] [--json] "
        "(exit 0 ok, 1 warning, 2 critical, 3 nothing to judge; see %s status --help)." % (PROG, PROG),
    )
    add = parser.add_argument
    add("-i", "--interface", required=True, help="Network interface to bind to (e.g. eth0, enp1s0, br0)")
    add("-q", "--query-interval", type=float, default=DEFAULT_QUERY_INTERVAL, metavar="SECONDS",
        help="Seconds between General Queries (default: 60; %s..%s)" % (human(MIN_QUERY_INTERVAL), human(MAX_QUERY_INTERVAL)))
    add("-t", "--timeout", type=float, default=None, metavar="SECONDS",
        help="Other Querier Present Interval: seconds without queries from the elected querier "
        "before taking over (default: robustness x query interval + max response / 2)")
    add("-r", "--max-response-time", type=float, default=None, metavar="SECONDS",
        help="Max response time advertised in queries, 0.1 s resolution (default: 10, or half the "
        "query interval when that is shorter; IGMPv2 at most 25.5, IGMPv3 at most 3174.4; less than "
        "the query interval)")
    add("--snooping-timeout", type=float, default=DEFAULT_SNOOPING_TIMEOUT, metavar="SECONDS",
        help="Membership timer of the LAN's snooping switches (default: 260, the common value and the "
        "Linux bridge's). The takeover timeout never exceeds it minus the max response minus 1 s, "
        "whatever another querier advertises; query interval + max response must stay below it")
    add("--robustness", type=int, default=DEFAULT_ROBUSTNESS, metavar="N",
        help="Robustness variable (default: 2; 1..%d; above 7 is sent as QRV 0)" % MAX_ROBUSTNESS)
    add("--startup-query-count", type=int, default=None, metavar="N",
        help="Queries in the startup burst (default: robustness; 1..%d)" % MAX_ROBUSTNESS)
    add("--startup-query-interval", type=float, default=None, metavar="SECONDS",
        help="Seconds between startup queries (default: query interval / 4)")
    add("--igmp-version", type=int, choices=(2, 3), default=2, help="IGMP version of the queries sent (default: 2)")
    add("--state-dir", default=DEFAULT_STATE_DIR, metavar="DIR",
        help="Directory for the live state file <DIR>/<interface>.json (default: %s)" % DEFAULT_STATE_DIR)
    add("--metrics-file", default=None, metavar="PATH",
        help="Also write Prometheus metrics (node_exporter textfile format, e.g. "
        "/var/lib/prometheus/node-exporter/igmp-querier-eth0.prom) at each state write")
    add("-v", "--verbose", action="store_true", help="Log every query sent and heard")
    add("--version", action="version", version="%(prog)s " + __version__)
    return parser


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)


def validate(args: argparse.Namespace) -> Config:
    """Turn parsed arguments into a :class:`Config`, or raise :class:`UsageError`."""
    qi = args.query_interval
    _check(MIN_QUERY_INTERVAL <= qi <= MAX_QUERY_INTERVAL,
           "--query-interval must be %s..%s seconds, got %s" % (human(MIN_QUERY_INTERVAL), human(MAX_QUERY_INTERVAL), human(qi)))
    mrt = args.max_response_time if args.max_response_time is not None else default_max_response(qi)
    limit = MAX_V2_RESPONSE_TENTHS if args.igmp_version == 2 else MAX_FLOAT_CODE_VALUE
    _check(math.isfinite(mrt),  # nan/inf would raise in int(round()) below
           "--max-response-time must be 0.1..%s seconds for IGMPv%d, got %s" % (human(limit / 10.0), args.igmp_version, human(mrt)))
    tenths = int(round(mrt * 10))
    _check(1 <= tenths <= limit,
           "--max-response-time must be 0.1..%s seconds for IGMPv%d, got %s" % (human(limit / 10.0), args.igmp_version, human(mrt)))
    _check(abs(tenths - mrt * 10) < 1e-6,
           "--max-response-time has 0.1 s resolution, got %s" % human(mrt))
    _check(mrt < qi,
           "--max-response-time must be less than --query-interval (%s s), got %s" % (human(qi), human(mrt)))
    snooping = args.snooping_timeout
    _check(math.isfinite(snooping) and 0 < snooping <= MAX_SNOOPING_TIMEOUT,
           "--snooping-timeout must be greater than 0 and at most %s seconds, got %s"
           % (human(MAX_SNOOPING_TIMEOUT), human(snooping)))
    _check(qi + mrt < snooping,
           "--query-interval (%s s) + --max-response-time (%s s) must be less than --snooping-timeout "
           "(%s s): the switches would drop memberships between queries" % (human(qi), human(mrt), human(snooping)))
    _check(1 <= args.robustness <= MAX_ROBUSTNESS,
           "--robustness must be 1..%d, got %d" % (MAX_ROBUSTNESS, args.robustness))
    if args.startup_query_count is not None:
        _check(1 <= args.startup_query_count <= MAX_ROBUSTNESS,
               "--startup-query-count must be 1..%d, got %d" % (MAX_ROBUSTNESS, args.startup_query_count))
    if args.startup_query_interval is not None:
        _check(0.1 <= args.startup_query_interval <= qi,
               "--startup-query-interval must be 0.1..%s seconds (the query interval), got %s"
               % (human(qi), human(args.startup_query_interval)))
    cap = timeout_cap(snooping, tenths / 10.0)
    if args.timeout is not None:
        _check(math.isfinite(args.timeout) and qi < args.timeout <= MAX_TIMEOUT,
               "--timeout must be greater than --query-interval (%s s) and at most %s, got %s"
               % (human(qi), human(MAX_TIMEOUT), human(args.timeout)))
        _check(args.timeout <= cap,
               "--timeout must be at most --snooping-timeout - --max-response-time - %s s = %s s "
               "(else the switches drop memberships before a takeover), got %s"
               % (human(SNOOPING_MARGIN), human(cap), human(args.timeout)))
    name = args.interface
    _check(0 < len(name) < 16 and "/" not in name and not name.isspace(),
           "--interface must be a Linux interface name (1..15 characters, no '/'), got %r" % name)
    metrics = args.metrics_file
    if metrics is not None:
        _check(bool(metrics) and "\0" not in metrics and not metrics.endswith("/"),
               "--metrics-file must be a file path, got %r" % metrics)
    timers = Timers(
        query_interval=qi,
        max_response_time=tenths / 10.0,
        robustness=args.robustness,
        startup_query_count=args.startup_query_count,
        startup_query_interval=args.startup_query_interval,
        timeout=args.timeout,
        igmp_version=args.igmp_version,
        snooping_timeout=snooping,
    )
    return Config(interface=name, timers=timers, state_dir=args.state_dir, verbose=args.verbose,
                  metrics_file=metrics)


def check(argv: Sequence[str]) -> Config:
    """Parse and validate ``argv`` like the daemon does; raise :class:`UsageError` on any error."""
    return validate(build_parser(raising=True).parse_args(list(argv)))


def parse_args(argv: Optional[Sequence[str]] = None) -> Config:
    """Parse and validate the command line; on error print one line and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return validate(args)
    except UsageError as exc:
        sys.stderr.write("%s: error: %s\n" % (PROG, exc))
        raise SystemExit(2)

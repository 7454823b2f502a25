# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The daemon's command line: the parser and validate() read the option table (options.py).

Every invalid value is refused with one line that names the flag and the allowed range.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Optional, Sequence

from . import __version__
from .codec import MAX_FLOAT_CODE_VALUE, MAX_V2_RESPONSE_TENTHS
from .options import BY_NAME, OPTIONS, flag, range_text
from .timers import (
    MAX_MLDV1_RESPONSE_TENTHS, PROG, SNOOPING_MARGIN, Config, Timers, default_max_response, human, timeout_cap,
)


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
    for option in OPTIONS:
        if option.kind == "switch":
            parser.add_argument(*option.flags, action="store_true", help=option.help_text)
            continue
        kwargs = {"help": option.help_text}
        if option.required:
            kwargs["required"] = True
        else:
            kwargs["default"] = option.default
        if option.kind != "str":
            kwargs["type"] = {"float": float, "int": int}[option.kind]
        if option.choices:
            kwargs["choices"] = option.choices
        if option.metavar:
            kwargs["metavar"] = option.metavar
        parser.add_argument(*option.flags, **kwargs)
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)


def _in_range(name: str, value: float) -> None:
    """The table's inclusive range for option ``name``, in the message every range check prints."""
    option = BY_NAME[name]
    _check(option.low <= value <= option.high, "%s must be %s, got %s" % (option.flag, range_text(option), human(value)))


def validate(args: argparse.Namespace) -> Config:
    """Turn parsed arguments into a :class:`Config`, or raise :class:`UsageError`."""
    qi = args.query_interval
    _in_range("query_interval", qi)
    mrt = args.max_response_time if args.max_response_time is not None else default_max_response(qi)
    limit = MAX_V2_RESPONSE_TENTHS if args.igmp_version == 2 else MAX_FLOAT_CODE_VALUE
    mrt_range = "%s must be 0.1..%s seconds for IGMPv%d, got %s" % (
        flag("max_response_time"), human(limit / 10.0), args.igmp_version, human(mrt))
    _check(math.isfinite(mrt), mrt_range)  # nan/inf would raise in int(round()) below
    tenths = int(round(mrt * 10))
    _check(1 <= tenths <= limit, mrt_range)
    _check(abs(tenths - mrt * 10) < 1e-6,
           "%s has 0.1 s resolution, got %s" % (flag("max_response_time"), human(mrt)))
    if args.mld_version == 1:
        mldv1_limit = human(MAX_MLDV1_RESPONSE_TENTHS / 10.0)
        _check(tenths <= MAX_MLDV1_RESPONSE_TENTHS, "%s must be at most %s seconds with %s 1 (MLDv1 carries "
               "milliseconds in 16 bits), got %s" % (flag("max_response_time"), mldv1_limit, flag("mld_version"),
                                                     human(mrt)))
    _check(mrt < qi,
           "%s must be less than %s (%s s), got %s" % (flag("max_response_time"), flag("query_interval"), human(qi), human(mrt)))
    snooping = args.snooping_timeout
    _check(math.isfinite(snooping) and 0 < snooping <= BY_NAME["snooping_timeout"].high,
           "%s must be greater than 0 and at most %s seconds, got %s"
           % (flag("snooping_timeout"), human(BY_NAME["snooping_timeout"].high), human(snooping)))
    _check(qi + mrt < snooping,
           "%s (%s s) + %s (%s s) must be less than %s (%s s): the switches would drop memberships between queries"
           % (flag("query_interval"), human(qi), flag("max_response_time"), human(mrt), flag("snooping_timeout"),
              human(snooping)))
    for option in OPTIONS:  # the plain ranges (robustness, startup query count, ...), table order
        if option.low is not None and option.high is not None and option.name != "query_interval":
            if getattr(args, option.name) is not None:
                _in_range(option.name, getattr(args, option.name))
    if args.startup_query_interval is not None:
        low = BY_NAME["startup_query_interval"].low
        _check(low <= args.startup_query_interval <= qi,
               "%s must be %s..%s seconds (the query interval), got %s"
               % (flag("startup_query_interval"), human(low), human(qi), human(args.startup_query_interval)))
    cap = timeout_cap(snooping, tenths / 10.0)
    if args.timeout is not None:
        _check(math.isfinite(args.timeout) and qi < args.timeout <= BY_NAME["timeout"].high,
               "%s must be greater than %s (%s s) and at most %s, got %s"
               % (flag("timeout"), flag("query_interval"), human(qi), human(BY_NAME["timeout"].high), human(args.timeout)))
        _check(args.timeout <= cap,
               "%s must be at most %s - %s - %s s = %s s (else the switches drop memberships before a takeover), got %s"
               % (flag("timeout"), flag("snooping_timeout"), flag("max_response_time"), human(SNOOPING_MARGIN),
                  human(cap), human(args.timeout)))
    from . import state  # pylint: disable=import-outside-toplevel  # state imports election, which imports this module
    name = args.interface
    _check(state.is_interface_name(name),
           "%s must be a Linux interface name (1..15 characters, no '/'), got %r" % (flag("interface"), name))
    metrics = args.metrics_file
    if metrics is not None:
        _check(bool(metrics) and "\0" not in metrics and not metrics.endswith("/"),
               "%s must be a file path, got %r" % (flag("metrics_file"), metrics))
    values = {option.name: getattr(args, option.name) for option in OPTIONS if option.name in Timers._fields}
    values.update(query_interval=qi, max_response_time=tenths / 10.0, snooping_timeout=snooping)
    timers = Timers(**values)
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

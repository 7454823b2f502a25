# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""Querier timers (RFC 2236 s.8, RFC 3376 s.8), their limits, and the validated configuration.

No argparse and no exits here: the core (election, state) and the CLI (config) both import it.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

from .codec import MAX_FLOAT_CODE_VALUE

PROG = "igmp-querier"
DEFAULT_STATE_DIR = "/run/igmp-querier"
DEFAULT_QUERY_INTERVAL = 60.0
DEFAULT_MAX_RESPONSE = 10.0  # or half the query interval, when that is shorter
DEFAULT_ROBUSTNESS = 2
DEFAULT_IGMP_VERSION = 2
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
#: Largest MLDv1 Maximum Response Delay: 16 bits of milliseconds (RFC 2710 s.3.4), in tenths.
MAX_MLDV1_RESPONSE_TENTHS = 655


class Timers(NamedTuple):
    """The configured protocol variables. Derived intervals are properties."""

    query_interval: float = DEFAULT_QUERY_INTERVAL
    max_response_time: float = DEFAULT_MAX_RESPONSE
    robustness: int = DEFAULT_ROBUSTNESS
    startup_query_count: Optional[int] = None  # default: robustness
    startup_query_interval: Optional[float] = None  # default: query interval / 4
    timeout: Optional[float] = None  # explicit Other Querier Present Interval
    igmp_version: int = DEFAULT_IGMP_VERSION
    last_member_query_interval: float = LAST_MEMBER_QUERY_INTERVAL
    snooping_timeout: float = DEFAULT_SNOOPING_TIMEOUT
    mld_version: Optional[int] = None  # None: no MLD querier (IPv4 only)

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

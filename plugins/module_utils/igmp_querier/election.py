# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The querier state machine: querier election, query schedule, takeover, group timers.

Sans-I/O (in the style of h11): decoded packets and the current time go in, events come
out. It owns no socket, no clock and no thread, so every transition is a unit test.

One implementation for both families (:mod:`family`): IGMP over IPv4 and MLD over IPv6.
Election (RFC 2236 s.3, RFC 3376 s.6.6.2, RFC 3810 s.7.6.2): the numerically lowest source
address of a valid query is the querier. Our own looped-back queries, queries from 0.0.0.0 (a
snooping switch's proxy queries, RFC 4541 s.2.1.1) and queries hosts would not answer (see
``Family.query_defect``: misaddressed, TTL/Hop Limit not 1, MLD from a non-link-local source)
never make us back off. A non-querier takes over when no
lower-addressed querier has been heard for the Other Querier Present Interval, which never
exceeds the switches' membership timer (``Timers.timeout_cap``) whatever the querier
advertises; after a takeover we query with our own configured timers.

Hostile traffic has bounded cost: every per-source table is a bounded :class:`RecentTable`
(O(1) per packet), group-specific queries are coalesced and paced (:mod:`gsq`).
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Deque, List, Optional, Tuple

from .codec import (
    ALLOW_NEW_SOURCES,
    BLOCK_OLD_SOURCES,
    CHANGE_TO_INCLUDE,
    MODE_IS_INCLUDE,
    Leave,
    Packet,
    Query,
    Report,
    V3Report,
)
from .family import IGMP, Family
from .timers import Timers, rfc_timeout
from .groups import GroupTable
from .gsq import GroupQueries
from .recent import RecentTable


class _Word(str, Enum):
    """A str Enum that prints, formats and serialises as its value (the state file and logs)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Role(_Word):
    QUERIER = "querier"
    NON_QUERIER = "non-querier"


class Reason(_Word):
    """Why a query is sent (SendQuery) or the role changed (RoleChanged)."""

    STARTUP = "startup"
    GENERAL = "general"
    TAKEOVER = "takeover"
    ADDRESS = "address"
    GROUP_SPECIFIC = "group-specific"
    LOST = "lost"


QUERIER = Role.QUERIER
NON_QUERIER = Role.NON_QUERIER

#: Role changes remembered with their times (the state file shows them; health judges flapping).
RECENT_ROLE_CHANGES = 16

#: At most one "mixed IGMP versions" warning per source in this many seconds.
MIXED_VERSION_LOG_INTERVAL = 300.0
#: At most one "group table full" event in this many seconds.
TABLE_FULL_LOG_INTERVAL = 60.0
#: Queriers remembered at once (a real LAN has a handful); the longest silent makes room.
MAX_QUERIERS = 256


@dataclass(frozen=True)
class Event:
    """What the querier asks the runtime to do or to report. Every event derives from it."""


@dataclass(frozen=True)
class SendQuery(Event):
    """Request to send a query now. ``group`` is 0.0.0.0 for a General Query."""

    group: str
    max_resp_tenths: int
    reason: Reason  # STARTUP, GENERAL, TAKEOVER, ADDRESS, GROUP_SPECIFIC


@dataclass(frozen=True)
class RoleChanged(Event):
    role: Role
    querier: Optional[str]  # the elected querier after the change
    previous: Optional[str]  # the elected querier before the change
    reason: Reason  # LOST, TAKEOVER
    silent_for: float = 0.0  # for takeovers: seconds since the previous querier was heard


@dataclass(frozen=True)
class ElectionWon(Event):
    against: str  # a higher-addressed querier we outrank


@dataclass(frozen=True)
class Adopted(Event):
    source: str
    robustness: int
    query_interval: float
    timeout: float


@dataclass(frozen=True)
class TimeoutClamped(Event):
    """The querier's QRV/QQIC ask for a takeover timeout the switches would not survive."""

    source: str
    advertised: float  # robustness x query interval + max response / 2 from its values
    cap: float  # the timeout in force instead


@dataclass(frozen=True)
class QueryIgnored(Event):
    source: str
    reason: str


@dataclass(frozen=True)
class GroupTableFull(Event):
    group: str  # the group refused just now
    refused: int  # reports refused since start


@dataclass(frozen=True)
class LeaveNotQueried(Event):
    """A leave that found the group-specific query schedule full."""

    group: str
    dropped: int


@dataclass(frozen=True)
class VersionMismatch(Event):
    source: str
    heard_version: int
    our_version: int


@dataclass(frozen=True)
class QueryHeard(Event):
    source: str
    query: Query


@dataclass(frozen=True)
class GroupJoined(Event):
    group: str
    reporter: str
    version: int


@dataclass(frozen=True)
class GroupExpired(Event):
    group: str


@dataclass(frozen=True)
class AddressChanged(Event):
    old: Optional[str]
    new: Optional[str]


class Querier:
    """One interface's querier. All times are seconds on one monotonic clock."""

    def __init__(self, timers: Timers, address: Optional[str] = None, family: Family = IGMP) -> None:
        self.timers = timers
        self.family = family
        self.version = family.version(timers)  # of the queries we send
        self.robustness = timers.robustness  # may be adopted from the querier's QRV
        self.query_interval = timers.query_interval  # may be adopted from the querier's QQIC
        self.role = QUERIER
        self.groups = GroupTable(unreported=family.unreported_group, full_version=family.full_version)
        self.queries_sent = 0
        self.queries_heard = 0
        self.queries_ignored = 0
        self.elections_won = 0
        self.elections_lost = 0
        self.takeovers = 0
        self.role_changes = 0
        self.recent_role_changes: Deque[float] = deque(maxlen=RECENT_ROLE_CHANGES)
        self.last_query_sent: Optional[float] = None
        self.last_query_heard: Optional[float] = None
        self.last_query_heard_from: Optional[str] = None
        self._heard = RecentTable(MAX_QUERIERS)  # querier address -> last time a query was heard
        self._contested = RecentTable(MAX_QUERIERS)  # higher querier -> last time we counted a win
        self._mixed_logged = RecentTable(MAX_QUERIERS)
        self._last_lower: Optional[Tuple[float, str]] = None  # newest query from a lower address
        self._lower: List[Tuple[int, str]] = []  # heap of lower queriers by address; stale entries skipped
        self._clamped_for: Optional[str] = None  # the querier whose timers we last clamped
        self._table_full_logged = float("-inf")
        self._next_query: Optional[float] = None
        self._startup_left = 0
        self._gsq = GroupQueries()
        self._own_key: Optional[int] = None
        self.address = address

    # --- derived values -------------------------------------------------------------
    @property
    def address(self) -> Optional[str]:
        return self._address

    @address.setter
    def address(self, value: Optional[str]) -> None:
        self._address = value
        self._own_key = None if value is None else self.family.key(value)
        if value is not None:
            self._heard.pop(value)
        lower = [(t, s) for s, t in self._heard.items() if self._is_lower(s)]
        self._last_lower = max(lower) if lower else None
        self._lower = [(self.family.key(s), s) for _t, s in lower]
        heapq.heapify(self._lower)

    def _is_lower(self, src: str) -> bool:
        return self._own_key is None or self.family.key(src) < self._own_key

    @property
    def timeout(self) -> float:
        """The Other Querier Present Interval in force (follows adopted QRV/QQIC, capped).

        An explicit timeout holds while it exceeds the query interval in force; once the querier's
        QQIC says it queries less often than that, the RFC formula over the adopted values applies
        (else we would take over between its queries). Never above ``timers.timeout_cap``.
        """
        if self.timers.timeout is not None and self.timers.timeout > self.query_interval:
            wanted = self.timers.timeout
        else:
            wanted = rfc_timeout(self.robustness, self.query_interval, self.timers.max_response_time)
        return min(wanted, self.timers.timeout_cap)

    @property
    def membership_interval(self) -> float:
        return self.robustness * self.query_interval + self.timers.max_response_time

    def _lower_alive(self, now: float) -> bool:
        return self._last_lower is not None and now - self._last_lower[0] < self.timeout

    def elected(self, now: float) -> Optional[str]:
        """The address of the querier on this LAN as we see it at ``now`` (ours when we query)."""
        if self.role == QUERIER:
            return self.address
        if not self._lower_alive(now):
            return None
        heap = self._lower
        while heap:
            key, address = heap[0]
            heard = self._heard.get(address)
            if heard is not None and (self._own_key is None or key < self._own_key):
                if now - heard < self.timeout:
                    return address
                self._heard.pop(address)  # silent past the timeout: no candidate until heard again
            heapq.heappop(heap)
        return None

    @property
    def is_querier(self) -> bool:
        return self.role == QUERIER

    # --- inputs ---------------------------------------------------------------------
    def start(self, now: float, address: Optional[str] = None) -> list:
        """Begin (or begin again after the link came back): the startup query burst.

        ``address``: the interface's address now, when it is known (no separate event).
        """
        if address is not None and address != self.address:
            self.address = address
        if self._lower_alive(now):
            self.role = NON_QUERIER
            return self.tick(now)
        self.role = QUERIER
        self._own_timers()
        self._startup_left = self.timers.startup_count
        self._next_query = now
        return self.tick(now)

    def set_address(self, address: Optional[str], now: float) -> list:
        """Our source address changed: the primary IPv4 address, the IPv6 link-local (None: none)."""
        if address == self.address:
            return []
        old = self.address
        self.address = address
        events: list = [AddressChanged(old, address)]
        if address is None:
            return events
        if self.role == QUERIER:
            # Announce ourselves with the new source, so the election runs against it now.
            self._next_query = now
            events.append(SendQuery(self.family.any, self.timers.max_response_tenths, Reason.ADDRESS))
            self._after_general(now)
        return events + self.tick(now)

    def datagram(self, request: SendQuery) -> Tuple[str, bytes]:
        """Destination and bytes of ``request`` with our version and the QRV/QQIC in force."""
        return self.family.encode_query(self.version, request.max_resp_tenths, self.robustness,
                                        self.query_interval, request.group)

    def record_sent(self, now: float) -> None:
        """The runtime reports that a query it was asked for really left."""
        self.queries_sent += 1
        self.last_query_sent = now

    def handle_packet(self, packet: Packet, now: float, own: bool = False) -> list:
        """A decoded datagram from the wire: queries that hosts would not answer are ignored."""
        message = packet.message
        if isinstance(message, Query) and not own and packet.src != self.address:
            defect = self.family.query_defect(packet)
            if defect is not None:
                self.queries_ignored += 1
                return [QueryIgnored(packet.src, defect)]
        return self.handle(packet.src, message, now, own)

    def handle(self, src: str, message, now: float, own: bool = False) -> list:
        """A decoded IGMP message from ``src``. ``own``: the frame left this host.

        No addressing checks here: the daemon feeds :meth:`handle_packet`.
        """
        if isinstance(message, Query):
            if own or src == self.address:
                return []  # our own query looped back: never an election input
            return self._on_query(src, message, now)
        if isinstance(message, (Report, Leave, V3Report)):
            return self._on_membership(src, message, now)
        return []

    def _on_query(self, src: str, query: Query, now: float) -> list:
        self.queries_heard += 1
        self.last_query_heard = now
        self.last_query_heard_from = src
        events: list = [QueryHeard(src, query)]
        ours = self.version
        if query.version != ours and src != self.family.any:  # a switch's proxy queries are not ours to configure
            last = self._mixed_logged.get(src)
            if last is None or now - last >= MIXED_VERSION_LOG_INTERVAL:
                self._mixed_logged.touch(src, now)
                events.append(VersionMismatch(src, query.version, ours))
        if (not query.is_general and query.max_resp_tenths and not query.suppress and not query.sources):
            # RFC 2236 s.3, RFC 3376 s.6.6.1: a group-specific query lowers the group's timer to
            # LMQC x MRT; with the S flag set, or with sources, it must not (s.4.1.5, s.6.6.3.2).
            self.groups.lower_timer(query.group, now + self.robustness * query.max_resp_tenths / 10.0)
        if src == self.family.any:
            return events  # proxy query from a snooping switch: not a querier candidate
        known = src in self._heard
        self._heard.touch(src, now)
        if not self._is_lower(src):
            if self.role == QUERIER:
                last = self._contested.get(src)
                if last is None or now - last >= self.timeout:
                    self.elections_won += 1
                    events.append(ElectionWon(src))
                self._contested.touch(src, now)
            return events
        # A lower address (or we have none): it is, or competes to be, the querier.
        self._last_lower = (now, src)
        if not known:
            heapq.heappush(self._lower, (self.family.key(src), src))
            if len(self._lower) > 2 * MAX_QUERIERS:  # entries of evicted sources pile up: compact
                self._lower = sorted({entry for entry in self._lower if entry[1] in self._heard})
        if self.role == QUERIER:
            self.role = NON_QUERIER
            self.elections_lost += 1
            self._role_changed(now)
            self._next_query = None
            self._startup_left = 0
            self._gsq.clear()
            events.append(RoleChanged(NON_QUERIER, self.elected(now), self.address, Reason.LOST))
        if query.version == self.family.full_version and src == self.elected(now):
            events.extend(self._adopt(src, query))
        return events

    def _role_changed(self, now: float) -> None:
        self.role_changes += 1
        self.recent_role_changes.append(now)

    def _own_timers(self) -> None:
        """Back to the configured robustness and interval (on start and on takeover)."""
        self.robustness, self.query_interval = self.timers.robustness, self.timers.query_interval

    def _adopt(self, src: str, query: Query) -> list:
        """RFC 3376 s.4.1.6-4.1.7: non-queriers adopt the querier's QRV and QQIC (the takeover
        timeout they imply is capped, see :attr:`timeout`)."""
        robustness = query.qrv or self.robustness
        interval = float(query.qqi) if query.qqi else self.query_interval
        if (robustness, interval) == (self.robustness, self.query_interval):
            return []
        self.robustness, self.query_interval = robustness, interval
        events: list = [Adopted(src, robustness, interval, self.timeout)]
        advertised = rfc_timeout(robustness, interval, self.timers.max_response_time)
        if advertised > self.timers.timeout_cap and self._clamped_for != src:
            self._clamped_for = src
            events.append(TimeoutClamped(src, advertised, self.timers.timeout_cap))
        return events

    def _on_membership(self, src: str, message, now: float) -> list:
        reported = _reported_groups(message)
        new = [g for g in reported if g not in self.groups]
        refused = self.groups.dropped
        left = self.groups.apply(src, message, now, self.membership_interval)
        version = message.version if isinstance(message, Report) else self.family.full_version
        events: list = [GroupJoined(g, src, version) for g in new if g in self.groups]
        if self.groups.dropped > refused and now - self._table_full_logged >= TABLE_FULL_LOG_INTERVAL:
            self._table_full_logged = now
            events.append(GroupTableFull(new[-1] if new else "", self.groups.dropped))
        for group in reported:
            if group in self.groups and group not in left:
                self._gsq.cancel(group)  # a member answered: no more group-specific queries
        if left and self.role == QUERIER:
            # RFC 2236 s.3: on a leave, the querier sends Last Member Query Count group-specific
            # queries and lowers the group's timer to LMQC x LMQI, also for a group the table
            # does not hold (learnt before we started, or refused while the table was full).
            lmqt = self.robustness * self.timers.last_member_query_interval
            for group in left:
                if group in self._gsq:
                    continue  # coalesced with the queries already pending
                self.groups.lower_timer(group, now + lmqt)
                if not self._gsq.request(group, self.robustness, now):
                    events.append(LeaveNotQueried(group, self._gsq.dropped))
            events.extend(self.tick(now))
        return events

    def tick(self, now: float) -> list:
        """Fire every timer that is due at ``now``."""
        events: list = []
        if self.role == NON_QUERIER and self.address is not None and not self._lower_alive(now):
            previous, silent_for = self._previous_querier(now)
            self.role = QUERIER
            self.takeovers += 1
            self._role_changed(now)
            self._own_timers()
            self._startup_left = 0
            self._next_query = now
            events.append(RoleChanged(QUERIER, self.address, previous, Reason.TAKEOVER, silent_for))
            events.append(SendQuery(self.family.any, self.timers.max_response_tenths, Reason.TAKEOVER))
            self._after_general(now)
        if self.role == QUERIER and self._next_query is not None and self._next_query <= now:
            reason = Reason.STARTUP if self._startup_left > 0 else Reason.GENERAL
            events.append(SendQuery(self.family.any, self.timers.max_response_tenths, reason))
            self._after_general(now)
        if self.role == QUERIER:
            lmqi = self.timers.last_member_query_interval
            tenths = int(round(lmqi * 10))
            events.extend(SendQuery(g, tenths, Reason.GROUP_SPECIFIC) for g in self._gsq.pop_due(now, lmqi))
        events.extend(GroupExpired(m.group) for m in self.groups.expire(now))
        self._prune(now)
        return events

    def _after_general(self, now: float) -> None:
        if self._startup_left > 0:
            self._startup_left -= 1
        interval = self.timers.startup_interval if self._startup_left > 0 else self.query_interval
        due = (self._next_query if self._next_query is not None else now) + interval
        self._next_query = due if due > now else now + interval

    def _previous_querier(self, now: float) -> Tuple[Optional[str], float]:
        """The querier we take over from and how long it has been silent."""
        if self._last_lower is None:
            return None, 0.0
        when, who = self._last_lower
        return who, now - when

    def _prune(self, now: float) -> None:
        keep = 2 * self.timeout
        self._heard.prune(now - keep)
        self._contested.prune(now - keep)
        self._mixed_logged.prune(now - MIXED_VERSION_LOG_INTERVAL)

    def next_deadline(self) -> Optional[float]:
        """When :meth:`tick` must next run (None: nothing scheduled)."""
        candidates = []
        if self.role == QUERIER:
            if self._next_query is not None:
                candidates.append(self._next_query)
            gsq = self._gsq.next_deadline()
            if gsq is not None:
                candidates.append(gsq)
        elif self.address is not None and self._last_lower is not None:
            candidates.append(self._last_lower[0] + self.timeout)
        expiry = self.groups.next_expiry()
        if expiry is not None:
            candidates.append(expiry)
        return min(candidates) if candidates else None


def _reported_groups(message) -> List[str]:
    if isinstance(message, Report):
        return [message.group]
    if isinstance(message, V3Report):
        return [r.group for r in message.records if _refreshes(r)]
    return []


def _refreshes(record) -> bool:
    """Whether a v3 group record refreshes its group in :meth:`GroupTable.apply` (shows interest).

    BLOCK_OLD_SOURCES and empty ALLOW/INCLUDE records do not, so they neither join a group nor
    answer (cancel) the group-specific queries that follow a leave.
    """
    if record.record_type == BLOCK_OLD_SOURCES:
        return False
    if record.record_type in (ALLOW_NEW_SOURCES, MODE_IS_INCLUDE, CHANGE_TO_INCLUDE):
        return bool(record.sources)
    return True


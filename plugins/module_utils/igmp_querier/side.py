# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""One address family's querier on the daemon's interface: its two sockets, its
:class:`election.Querier`, and the log lines its events become.

The daemon (:mod:`daemon`) owns the loop, the link facts and the state file and has one side per
family: IGMP always, MLD with ``--mld-version``. Each side follows the link through
:func:`link.plan` with its own source address (the primary IPv4 address; the usable IPv6
link-local one), so neither family waits for the other.
"""

from __future__ import annotations

import errno
import logging
import os
import selectors
import socket
from typing import Callable, Dict, Optional

from . import link
from .codec import Malformed
from .election import (
    AddressChanged,
    Adopted,
    ElectionWon,
    GroupExpired,
    GroupJoined,
    GroupTableFull,
    LeaveNotQueried,
    Querier,
    QueryHeard,
    QueryIgnored,
    Reason,
    RoleChanged,
    SendQuery,
    TimeoutClamped,
    VersionMismatch,
)
from .family import IGMP, Family
from .netif import LinkState

log = logging.getLogger("igmp_querier")

#: Frames handled per wake-up before timers get a turn (keeps the schedule under a flood).
RX_BATCH = 256
BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0

#: sendto() errors that mean "not now", not "the socket is gone": that query is dropped and
#: counted (send_errors), the sockets stay open. ENOBUFS: the egress queue dropped it (the
#: sender sets IP_RECVERR) or our queued frames fill the send buffer; EAGAIN/EWOULDBLOCK: send
#: buffer full; ENOMEM: no memory for the frame right now. Every other errno closes both
#: sockets and reopens them with backoff: ENXIO/ENODEV (interface gone), ENETDOWN (link down),
#: EADDRNOTAVAIL (our address removed), ENETUNREACH/EHOSTUNREACH (no route), EBADF, EPERM/EACCES
#: (a firewall; reopening re-checks the link and backs off), and any errno not listed here.
TRANSIENT_SEND_ERRORS = frozenset({errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOMEM})

#: Where each family's RFC says hosts fall back to the oldest querier version they hear.
_FALLBACK_RFC = {"IGMP": "RFC 3376 s.7", "MLD": "RFC 3810 s.8"}


class Side:
    """``sockets``: the daemon's socket seam; ``wire_log``: its rate-limited logger (one budget
    for both families); ``changed``: called when the state file has news to show."""

    def __init__(self, family: Family, timers, interface: str, sockets, selector: selectors.BaseSelector,
                 wire_log: Callable[..., None], changed: Callable[[], None],
                 role_changed: Callable[[float], None]) -> None:
        self.family = family
        self.querier = Querier(timers, family=family)
        self.interface = interface
        self.selector = selector
        self._wire_log = wire_log
        self._changed = changed
        self._on_role_change = role_changed
        if family is IGMP:
            self._open_rx, self._open_tx = sockets.open_receiver, sockets.open_sender
            self.prefix = ""  # IPv4 log lines read as they always did
        else:
            self._open_rx, self._open_tx = sockets.open_receiver6, sockets.open_sender6
            self.prefix = "%s: " % family.name
        self._receive = sockets.receive
        self.rx: Optional[socket.socket] = None
        self.tx: Optional[socket.socket] = None
        self.address: Optional[str] = None  # the source our queries leave from
        self.index = 0
        self.malformed = 0
        self.send_errors = 0
        self.versions_heard: Dict[int, float] = {}  # version -> last time a query of it was heard
        self.backoff = BACKOFF_MIN
        self.retry_at: Optional[float] = None
        self._pending_action: Optional[link.Action] = None  # planned, not done: the sockets failed
        self._last_malformed_log = float("-inf")

    # --- link and sockets -----------------------------------------------------------
    def view(self, state: LinkState) -> LinkState:
        """``state`` with this family's source address in ``address``."""
        return state if self.family is IGMP else state._replace(address=state.link_local)

    def close(self, which: str) -> None:
        sock = getattr(self, which)
        if sock is None:
            return
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()
        setattr(self, which, None)

    def close_all(self) -> None:
        self.close("rx")
        self.close("tx")

    def reset_backoff(self) -> None:
        self.retry_at = None
        self.backoff = BACKOFF_MIN

    def _socket_failed(self, what: str, exc: OSError, now: float) -> None:
        log.warning("%s%s socket on %s failed (%s); reopening in %.1f s", self.prefix, what, self.interface, exc,
                    self.backoff)
        self.close_all()
        self.retry_at = now + self.backoff
        self.backoff = min(self.backoff * 2, BACKOFF_MAX)

    def _open_sockets(self, state: LinkState, now: float) -> bool:
        try:
            if self.rx is None:
                self.rx = self._open_rx(self.interface, state.index)
                self.selector.register(self.rx, selectors.EVENT_READ, self)
            if self.tx is None and state.address is not None:
                self.tx = self._open_tx(self.interface, state.index, state.address)
        except PermissionError:
            raise
        except OSError as exc:
            self._socket_failed("opening the", exc, now)
            return False
        self.reset_backoff()
        return True

    def follow(self, old: LinkState, new: LinkState, now: float, link_logs: bool) -> bool:
        """Carry out :func:`link.plan` for this family; True when a query left. ``link_logs``:
        this side logs the link's own transitions (one side does, not both)."""
        old, new = self.view(old), self.view(new)
        self.address, self.index = new.address, new.index
        label = self.family.address_label
        if new.address is None and new.tentative:
            label += " (the link-local address is still tentative: duplicate address detection)"
        todo = link.plan(self.interface, old, new, queried=self.querier.queries_sent > 0, address_label=label,
                         link_logs=link_logs)
        for level, line in todo.logs:
            log.log(level, "%s%s", self.prefix, line)
        if todo.close_tx:
            self.close("tx")
        if todo.close_rx:
            self.close("rx")
        if not todo.open_sockets:
            return False
        if todo.action is not None and self._pending_action is not link.Action.START:
            self._pending_action = todo.action
        if not self._open_sockets(new, now):
            return False  # the action waits for the reopen: link.plan() sees no change then
        if todo.action_log is not None:
            log.log(todo.action_log[0], "%s%s", self.prefix, todo.action_log[1])
        action, self._pending_action = self._pending_action, None
        if action is link.Action.START and new.address is None:
            # Up again without a source (IPv6 drops its addresses on link down): the startup
            # burst waits for the address, instead of being spent on a socket we cannot open.
            self._pending_action = action
            self.querier.address = None  # no source: the state file must not name our old one
            return False
        if action is link.Action.START:
            return self.apply(self.querier.start(now, new.address), now)
        if action is link.Action.SET_ADDRESS:
            return self.apply(self.querier.set_address(new.address, now), now)
        return False

    # --- the wire -------------------------------------------------------------------
    def send(self, request: SendQuery, now: float) -> bool:
        """Send one query; True when it left (the querier counts it)."""
        if self.tx is None:
            log.debug("%sNot sending %s query: no usable socket on %s", self.prefix, request.reason, self.interface)
            return False
        destination, payload = self.querier.datagram(request)
        try:
            self.tx.sendto(payload, self.family.sockaddr(destination, self.index))
        except OSError as exc:
            self.send_errors += 1
            self._changed()
            if exc.errno in TRANSIENT_SEND_ERRORS:
                self._wire_log(logging.WARNING, now, "%s%s query to %s not sent on %s (%s): dropped, socket kept; "
                               "%d queries could not leave so far", self.prefix, request.reason, destination,
                               self.interface, os.strerror(exc.errno), self.send_errors)
                return False
            self._socket_failed("Send", exc, now)
            return False
        self.querier.record_sent(now)
        self._changed()
        line = ("Sent %sv%d %s query to %s from %s", self.family.name, self.querier.version, request.reason,
                destination, self.address)
        if request.group == self.family.any:
            log.debug(*line)  # paced by our own schedule, not by the wire
        else:
            self._wire_log(logging.DEBUG, now, *line)  # group-specific: follows the leaves heard
        return True

    def on_rx(self, now: float) -> bool:
        """Read what is queued (at most :data:`RX_BATCH` frames); False when the socket failed."""
        for _count in range(RX_BATCH):
            if self.rx is None:
                return True
            try:
                frame = self._receive(self.rx)
            except OSError as exc:
                self._socket_failed("Receive", exc, now)
                return False
            if frame is None:
                return True
            data, outgoing = frame
            packet = self.family.decode(data)
            if isinstance(packet, Malformed):
                self.malformed += 1
                if now - self._last_malformed_log >= 10.0:
                    self._last_malformed_log = now
                    self._wire_log(logging.DEBUG, now, "Dropped malformed %s (%s); %d so far", self.family.name,
                                   packet.reason, self.malformed)
                continue
            self.apply(self.querier.handle_packet(packet, now, own=outgoing), now)
        return True

    # --- events ---------------------------------------------------------------------
    def apply(self, events, now: float) -> bool:
        """Carry out the querier's events; True when a query left."""
        sent = False
        name, p, q = self.family.name, self.prefix, self.querier
        for event in events:
            if isinstance(event, SendQuery):
                sent = self.send(event, now) or sent
            elif isinstance(event, QueryHeard):
                self.versions_heard[event.query.version] = now
                self._wire_log(logging.DEBUG, now, "Heard %s from %s", self.family.describe(event.query), event.source)
            elif isinstance(event, RoleChanged):
                self._role_changed(event, now)
                self._on_role_change(now)
            elif isinstance(event, ElectionWon):
                self._wire_log(logging.INFO, now, "%sWON against %s: our %s is lower; %s will back off", p,
                               event.against, self.address, event.against)
            elif isinstance(event, Adopted):
                self._wire_log(logging.INFO, now, "%sAdopted querier %s's robustness %d and query interval %g s "
                               "(takeover timeout now %g s)", p, event.source, event.robustness,
                               event.query_interval, event.timeout)
            elif isinstance(event, VersionMismatch):
                self._wire_log(logging.WARNING, now, "LAN mixes %s versions: %s sends %sv%d queries, we send "
                               "%sv%d; hosts fall back to the oldest version heard (%s). Configure every "
                               "querier alike.", name, event.source, name, event.heard_version, name,
                               event.our_version, _FALLBACK_RFC[name])
            elif isinstance(event, GroupJoined):
                self._wire_log(logging.DEBUG, now, "Group %s reported by %s (%sv%d)", event.group, event.reporter,
                               name, event.version)
                self._changed()
            elif isinstance(event, GroupExpired):
                self._wire_log(logging.DEBUG, now, "Group %s expired", event.group)
                self._changed()
            elif isinstance(event, QueryIgnored):
                self._wire_log(logging.DEBUG, now, "%sIgnored a query from %s: %s (hosts would not answer it)", p,
                               event.source, event.reason)
            elif isinstance(event, TimeoutClamped):
                self._wire_log(logging.WARNING, now, "%sQuerier %s advertises timers implying a %g s takeover "
                               "timeout; the switches forget memberships after --snooping-timeout %g s, so %g s "
                               "is used", p, event.source, event.advertised, q.timers.snooping_timeout, event.cap)
            elif isinstance(event, GroupTableFull):
                self._wire_log(logging.WARNING, now, "%sGroup table of %s is full (%d groups): %d reports for new "
                               "groups refused so far (leaves still get their group-specific queries)", p,
                               self.interface, len(q.groups), event.refused)
            elif isinstance(event, LeaveNotQueried):
                self._wire_log(logging.WARNING, now, "%sGroup-specific query schedule of %s is full: leave for %s "
                               "not queried (%d so far)", p, self.interface, event.group, event.dropped)
            elif isinstance(event, AddressChanged):
                log.info("%sAddress of %s changed: %s -> %s", p, self.interface, event.old, event.new)
                self._changed()
        return sent

    def _role_changed(self, event: RoleChanged, now: float) -> None:
        p = self.prefix
        if event.reason is Reason.LOST:
            self._wire_log(logging.WARNING, now, "%sLOST to %s: its address is lower than ours (%s); now non-querier",
                           p, event.querier, self.address)
        elif event.previous is None:
            self._wire_log(logging.WARNING, now, "%sNo querier with a lower address than ours (%s) remains: "
                           "taking over as querier", p, self.address)
        else:
            self._wire_log(logging.WARNING, now, "%sNo query from %s for %.1f s (timeout %g s): taking over as "
                           "querier", p, event.previous, event.silent_for, self.querier.timeout)

    # --- reports --------------------------------------------------------------------
    def status(self, now: float) -> str:
        q = self.querier
        return ("%s, querier %s, our address %s; queries sent %d, heard %d, ignored %d; elections won %d, lost %d; "
                "takeovers %d; role changes %d; groups %d (overflow %d); malformed packets dropped %d; send errors %d"
                % (q.role, q.elected(now) or "none", self.address or "none", q.queries_sent, q.queries_heard,
                   q.queries_ignored, q.elections_won, q.elections_lost, q.takeovers, q.role_changes, len(q.groups),
                   q.groups.dropped, self.malformed, self.send_errors))

    def totals(self) -> str:
        q = self.querier
        return ("queries sent %d, heard %d; elections won %d, lost %d; takeovers %d; malformed packets dropped %d"
                % (q.queries_sent, q.queries_heard, q.elections_won, q.elections_lost, q.takeovers, self.malformed))

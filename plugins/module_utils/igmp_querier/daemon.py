# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The daemon: one event loop that owns the sockets, the clock and the signals.

It sleeps in ``select`` until the next deadline (a query, a takeover, a state refresh) or
until a packet, a link/address notification or a signal arrives, feeds the sans-I/O
:class:`election.Querier`, and carries out what it asks for. No threads, no polling.

It survives, without restarting, the link going down and up, the interface disappearing
and coming back, the address changing, send congestion (the query is dropped and counted) and
socket errors (reopened with backoff). It exits on SIGTERM/SIGINT (0) and on configuration or
permission errors. SIGHUP re-checks the link, reopens the sockets and rewrites the state file;
SIGUSR1 logs one status line; SIGUSR2 is ignored. One daemon per interface and state dir (a lock
file, see :mod:`instance`). Log lines that traffic can trigger share one budget (:mod:`ratelimit`).
"""

from __future__ import annotations

import errno
import logging
import os
import selectors
import signal
import socket
import time
from typing import Callable, Optional

from . import __version__, instance, link, metrics, ratelimit
from . import netif as host_netif
from . import sockets as host_sockets
from . import state as statefile
from .codec import ANY, Malformed, decode_float_code, decode_ipv4, describe, encode_float_code
from .timers import Config
from .netif import LinkState
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

log = logging.getLogger("igmp_querier")

EXIT_OK = 0
EXIT_CONFIG = 1
EXIT_USAGE = 2
EXIT_NOPERM = 77  # sysexits EX_NOPERM

#: Frames handled per wake-up before timers get a turn (keeps the schedule under a flood).
RX_BATCH = 256
#: Dirty state is written at most this often (seconds); at least once per query interval.
STATE_MIN_GAP = 1.0
#: With rtnetlink notifications, the link is re-read this often (seconds) only as a safety net;
#: without them, every query interval. (Reading the address costs a netlink dump per call.)
LINK_RECHECK_WITH_NETLINK = 30.0
BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0

#: sendto() errors that mean "not now", not "the socket is gone": that query is dropped and
#: counted (send_errors), the sockets stay open. ENOBUFS: the egress queue dropped it (the
#: sender sets IP_RECVERR) or our queued frames fill the send buffer; EAGAIN/EWOULDBLOCK: send
#: buffer full; ENOMEM: no memory for the frame right now. Every other errno closes both
#: sockets and reopens them with backoff: ENXIO/ENODEV (interface gone), ENETDOWN (link down),
#: EADDRNOTAVAIL (our address removed), ENETUNREACH/EHOSTUNREACH (no route), EBADF, EPERM/EACCES
#: (a firewall; reopening re-checks the link and backs off), and any errno not listed here.
TRANSIENT_SEND_ERRORS = frozenset({errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOMEM})

CAP_MESSAGE = (
    "CAP_NET_RAW is required to open raw IGMP and packet sockets. Run as root, or grant the "
    "capability: under systemd `AmbientCapabilities=CAP_NET_RAW` (the multicast.igmp.querier "
    "role does this), or for a manual run `sudo setcap cap_net_raw+ep \"$(readlink -f \"$(command -v python3)\")\"`"
)


class ConfigurationError(Exception):
    """Cannot run with this configuration (exit 1)."""


class Daemon:
    """``clock``, ``wall``, ``netif``, ``sockets`` and ``selector`` are the daemon's only ways out;
    unit tests pass fakes (tests/unit/.../test_daemon.py)."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, netif=host_netif, sockets=host_sockets,
                 selector: Optional[selectors.BaseSelector] = None) -> None:
        self.config = config
        self.interface = config.interface
        self.clock = clock
        self.wall = wall
        self.netif = netif
        self.sockets = sockets
        self.querier = Querier(config.timers)
        self.malformed = 0
        self.send_errors = 0
        self.versions_heard = {}  # IGMP version -> last time a query of it was heard (monotonic)
        self.started_wall = wall()
        self.started = clock()
        self.link = LinkState(False, False, 0, None)
        self.rx: Optional[socket.socket] = None
        self.tx: Optional[socket.socket] = None
        self.netlink: Optional[socket.socket] = None
        self.selector = selectors.DefaultSelector() if selector is None else selector
        self.stopping = False
        self.backoff = BACKOFF_MIN
        self.retry_at: Optional[float] = None
        self.link_check_at = 0.0
        self._pending_action: Optional[link.Action] = None  # planned, not done: the sockets failed
        self.state_dirty = True
        self.state_written = float("-inf")
        self.state_path = statefile.state_path(config.state_dir, config.interface)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._last_malformed_log = float("-inf")
        self._last_state_error = float("-inf")
        self.log_limit = ratelimit.LogLimiter()
        self.lock_fd: Optional[int] = None
        self._reload_requested = False
        self._status_requested = False
        self._signals_installed = False
        self._last_metrics_error = float("-inf")

    # --- set-up ---------------------------------------------------------------------
    def preflight(self) -> None:
        """Refuse early what cannot work: a missing interface, no CAP_NET_RAW, no state dir."""
        if not self.netif.index(self.interface):
            raise ConfigurationError(self.netif.missing_interface_message(self.interface))
        # Without CAP_NET_RAW this raises PermissionError, which main() turns into exit 77.
        self.sockets.check_raw()
        try:
            statefile.make_state_dir(self.config.state_dir)
        except OSError as exc:
            raise ConfigurationError("cannot create --state-dir %s: %s" % (self.config.state_dir, exc))
        if not os.access(self.config.state_dir, os.W_OK):
            raise ConfigurationError("--state-dir %s is not writable" % self.config.state_dir)
        try:
            self.lock_fd = instance.acquire(self.config.state_dir, self.interface)
        except instance.LockError as exc:
            raise ConfigurationError(str(exc))

    def install_signals(self) -> None:
        """Handle the signals from now on (main() calls this before preflight: a SIGHUP while
        starting must not kill the daemon either, and systemd counts SIGHUP as a clean exit)."""
        if self._signals_installed:
            return
        self._signals_installed = True
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(signum, self._on_signal)
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)  # its default action would kill the querier
        self.selector.register(self._wake_r, selectors.EVENT_READ, "wake")

    def _on_signal(self, signum, frame) -> None:
        # Only flags: the loop acts on them once select() returns (the wake-up fd ends it).
        if signum == signal.SIGHUP:
            self._reload_requested = True
        elif signum == signal.SIGUSR1:
            self._status_requested = True
        else:
            self.stopping = True

    def _open_netlink(self) -> None:
        try:
            self.netlink = self.sockets.open_netlink()
        except OSError as exc:
            log.warning("No rtnetlink notifications (%s); checking %s every query interval", exc, self.interface)
            return
        self.selector.register(self.netlink, selectors.EVENT_READ, "netlink")

    # --- sockets --------------------------------------------------------------------
    def _close(self, which: str) -> None:
        sock = getattr(self, which)
        if sock is None:
            return
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()
        setattr(self, which, None)

    def _socket_failed(self, what: str, exc: OSError, now: float) -> None:
        log.warning("%s socket on %s failed (%s); reopening in %.1f s", what, self.interface, exc, self.backoff)
        self._close("rx")
        self._close("tx")
        self.retry_at = now + self.backoff
        self.backoff = min(self.backoff * 2, BACKOFF_MAX)

    def _open_sockets(self, state: LinkState, now: float) -> bool:
        try:
            if self.rx is None:
                self.rx = self.sockets.open_receiver(self.interface, state.index)
                self.selector.register(self.rx, selectors.EVENT_READ, "rx")
            if self.tx is None and state.address is not None:
                self.tx = self.sockets.open_sender(self.interface, state.index, state.address)
        except PermissionError:
            raise
        except OSError as exc:
            self._socket_failed("opening the", exc, now)
            return False
        self.retry_at = None
        self.backoff = BACKOFF_MIN
        return True

    # --- link and address -----------------------------------------------------------
    def check_link(self, now: float) -> bool:
        """Re-read the link and carry out :func:`link.plan`; True when a query left."""
        old, new = self.link, self.netif.link_state(self.interface)
        self.link = new
        interval = self.querier.query_interval
        if self.netlink is not None:
            interval = max(interval, LINK_RECHECK_WITH_NETLINK)
        self.link_check_at = now + interval
        todo = link.plan(self.interface, old, new, queried=self.querier.queries_sent > 0)
        for level, line in todo.logs:
            log.log(level, "%s", line)
        if todo.close_tx:
            self._close("tx")
        if todo.close_rx:
            self._close("rx")
        if not todo.open_sockets:
            self.state_dirty = True
            return False
        if todo.action is not None and self._pending_action is not link.Action.START:
            self._pending_action = todo.action
        if not self._open_sockets(new, now):
            return False  # the action waits for the reopen: link.plan() sees no change then
        if todo.action_log is not None:
            log.log(todo.action_log[0], "%s", todo.action_log[1])
        action, self._pending_action = self._pending_action, None
        sent = False
        if action is link.Action.START:
            sent = self._apply(self.querier.start(now, new.address), now)
        elif action is link.Action.SET_ADDRESS:
            sent = self._apply(self.querier.set_address(new.address, now), now)
        self.state_dirty = True
        return sent

    # --- events ---------------------------------------------------------------------
    def _send(self, request: SendQuery, now: float) -> bool:
        """Send one query; True when it left (the querier counts it)."""
        if self.tx is None:
            log.debug("Not sending %s query: no usable socket on %s", request.reason, self.interface)
            return False
        destination, payload = self.querier.datagram(request)
        try:
            self.tx.sendto(payload, (destination, 0))
        except OSError as exc:
            self.send_errors += 1
            self.state_dirty = True
            if exc.errno in TRANSIENT_SEND_ERRORS:
                self._wire_log(logging.WARNING, now, "%s query to %s not sent on %s (%s): dropped, socket kept; "
                               "%d queries could not leave so far", request.reason, destination,
                               self.interface, os.strerror(exc.errno), self.send_errors)
                return False
            self._socket_failed("Send", exc, now)
            return False
        self.querier.record_sent(now)
        self.state_dirty = True
        line = ("Sent IGMPv%d %s query to %s from %s", self.querier.timers.igmp_version, request.reason,
                destination, self.link.address)
        if request.group == ANY:
            log.debug(*line)  # paced by our own schedule, not by the wire
        else:
            self._wire_log(logging.DEBUG, now, *line)  # group-specific: follows the leaves heard
        return True

    def _wire_log(self, level: int, now: float, message: str, *args) -> None:
        """Log a line that traffic on the wire can trigger, within the global budget."""
        if not log.isEnabledFor(level):
            return
        held = self.log_limit.admit(now, debug=level < logging.INFO)
        if held is None:
            return
        if held:
            message += " [%d log lines suppressed]"
            args += (held,)
        log.log(level, message, *args)

    def _apply(self, events, now: float) -> bool:
        """Carry out the querier's events; True when a query left."""
        sent = False
        for event in events:
            if isinstance(event, SendQuery):
                sent = self._send(event, now) or sent
            elif isinstance(event, QueryHeard):
                self.versions_heard[event.query.version] = now
                self._wire_log(logging.DEBUG, now, "Heard %s from %s", describe(event.query), event.source)
            elif isinstance(event, RoleChanged):
                self._role_changed(event, now)
                self.write_state(now)
            elif isinstance(event, ElectionWon):
                self._wire_log(logging.INFO, now, "WON against %s: our %s is lower; %s will back off",
                               event.against, self.link.address, event.against)
            elif isinstance(event, Adopted):
                self._wire_log(logging.INFO, now, "Adopted querier %s's robustness %d and query interval %g s "
                               "(takeover timeout now %g s)", event.source, event.robustness,
                               event.query_interval, event.timeout)
            elif isinstance(event, VersionMismatch):
                self._wire_log(logging.WARNING, now, "LAN mixes IGMP versions: %s sends IGMPv%d queries, we send "
                               "IGMPv%d; hosts fall back to the oldest version heard (RFC 3376 s.7). Configure "
                               "every querier alike.", event.source, event.heard_version, event.our_version)
            elif isinstance(event, GroupJoined):
                self._wire_log(logging.DEBUG, now, "Group %s reported by %s (IGMPv%d)", event.group, event.reporter,
                               event.version)
                self.state_dirty = True
            elif isinstance(event, GroupExpired):
                self._wire_log(logging.DEBUG, now, "Group %s expired", event.group)
                self.state_dirty = True
            elif isinstance(event, QueryIgnored):
                self._wire_log(logging.DEBUG, now, "Ignored a query from %s: %s (hosts would not answer it)",
                               event.source, event.reason)
            elif isinstance(event, TimeoutClamped):
                self._wire_log(logging.WARNING, now, "Querier %s advertises timers implying a %g s takeover timeout; "
                               "the switches forget memberships after --snooping-timeout %g s, so %g s is used",
                               event.source, event.advertised, self.querier.timers.snooping_timeout, event.cap)
            elif isinstance(event, GroupTableFull):
                self._wire_log(logging.WARNING, now, "Group table of %s is full (%d groups): %d reports for new groups "
                               "refused so far (leaves still get their group-specific queries)", self.interface,
                               len(self.querier.groups), event.refused)
            elif isinstance(event, LeaveNotQueried):
                self._wire_log(logging.WARNING, now, "Group-specific query schedule of %s is full: leave for %s not "
                               "queried (%d so far)", self.interface, event.group, event.dropped)
            elif isinstance(event, AddressChanged):
                log.info("Address of %s changed: %s -> %s", self.interface, event.old, event.new)
                self.state_dirty = True
        return sent

    def _role_changed(self, event: RoleChanged, now: float) -> None:
        if event.reason is Reason.LOST:
            self._wire_log(logging.WARNING, now, "LOST to %s: its address is lower than ours (%s); now non-querier",
                           event.querier, self.link.address)
        elif event.previous is None:
            self._wire_log(logging.WARNING, now, "No querier with a lower address than ours (%s) remains: "
                           "taking over as querier", self.link.address)
        else:
            self._wire_log(logging.WARNING, now, "No query from %s for %.1f s (timeout %g s): taking over as querier",
                           event.previous, event.silent_for, self.querier.timeout)

    def on_rx(self, now: float) -> None:
        for _count in range(RX_BATCH):
            if self.rx is None:
                return
            try:
                frame = self.sockets.receive(self.rx)
            except OSError as exc:
                self._socket_failed("Receive", exc, now)
                self.check_link(now)
                return
            if frame is None:
                return
            data, outgoing = frame
            packet = decode_ipv4(data)
            if isinstance(packet, Malformed):
                self.malformed += 1
                if now - self._last_malformed_log >= 10.0:
                    self._last_malformed_log = now
                    self._wire_log(logging.DEBUG, now, "Dropped malformed IGMP (%s); %d so far", packet.reason,
                                   self.malformed)
                continue
            self._apply(self.querier.handle_packet(packet, now, own=outgoing), now)

    def on_netlink(self, now: float) -> None:
        indexes = self.sockets.drain_netlink(self.netlink)
        if 0 in indexes or self.link.index in indexes or not self.link.exists or not self.link.up:
            self.check_link(now)

    # --- state file -----------------------------------------------------------------
    def write_state(self, now: float) -> None:
        link = "up" if self.link.up else ("down" if self.link.exists else "absent")
        document = statefile.build(
            self.querier, interface=self.interface, address=self.link.address, link=link,
            pid=os.getpid(), version=__version__, started=self.started_wall,
            malformed=self.malformed, now_mono=now, now_wall=self.wall(), send_errors=self.send_errors,
            versions_heard=self.versions_heard,
        )
        if self.config.metrics_file:
            try:
                metrics.write(self.config.metrics_file, metrics.render(document, document["updated"]))
            except OSError as exc:
                if now - self._last_metrics_error >= 60.0:
                    self._last_metrics_error = now
                    log.warning("Cannot write metrics file %s: %s", self.config.metrics_file, exc)
        try:
            statefile.write(self.state_path, document)
        except OSError as exc:
            if now - self._last_state_error >= 60.0:
                self._last_state_error = now
                log.warning("Cannot write state file %s: %s", self.state_path, exc)
            return
        self.state_written = now
        self.state_dirty = False

    def _state_due(self) -> float:
        if self.state_dirty:
            return self.state_written + STATE_MIN_GAP
        return self.state_written + self.querier.query_interval

    # --- the loop -------------------------------------------------------------------
    def next_deadline(self) -> float:
        candidates = [self._state_due(), self.link_check_at]
        deadline = self.querier.next_deadline()
        if deadline is not None:
            candidates.append(deadline)
        if self.retry_at is not None:
            candidates.append(self.retry_at)
        return min(candidates)

    def run(self) -> int:
        self.install_signals()
        self._open_netlink()
        now = self.clock()
        self.check_link(now)
        self.write_state(now)
        while not self.stopping:
            timeout = max(0.0, self.next_deadline() - self.clock())
            for key, _mask in self.selector.select(timeout):
                now = self.clock()
                if key.data == "rx":
                    self.on_rx(now)
                elif key.data == "netlink":
                    self.on_netlink(now)
                else:
                    self._drain_wake()
            now = self.clock()
            if self.stopping:
                break
            if self._reload_requested:
                self._reload_requested = False
                self.reload(now)
            if self._status_requested:
                self._status_requested = False
                log.info("%s", self.status_line(now))
            sent = False
            if (self.retry_at is not None and now >= self.retry_at) or now >= self.link_check_at:
                sent = self.check_link(now)
            sent = self._apply(self.querier.tick(now), now) or sent
            if sent and self.link_check_at < (self.querier.next_deadline() or float("inf")):
                # Re-check early rather than wake up for it alone before the next query.
                self.check_link(now)
            if sent or now >= self._state_due():
                # Also right after a query went out: the file shows it at once, and the write
                # shares the query's wake-up instead of taking one of its own a moment later.
                self.write_state(now)
        self.shutdown()
        return EXIT_OK

    def reload(self, now: float) -> None:
        """SIGHUP: re-read the link, reopen both sockets, rewrite the state file. The querier's
        role and schedule carry on as they were (no startup burst, no election)."""
        log.info("SIGHUP: re-checking %s, reopening its sockets and rewriting %s", self.interface, self.state_path)
        self._close("rx")
        self._close("tx")
        self.retry_at = None
        self.backoff = BACKOFF_MIN
        self.check_link(now)
        self.write_state(now)

    def status_line(self, now: float) -> str:
        """SIGUSR1: everything the state file says about the election and the counters, in one line."""
        q = self.querier
        uptime = int(now - self.started)
        link = "up" if self.link.up else ("down" if self.link.exists else "absent")
        return ("Status on %s: %s, querier %s, our address %s, link %s; queries sent %d, heard %d, ignored %d; "
                "elections won %d, lost %d; takeovers %d; role changes %d; groups %d (overflow %d); "
                "malformed packets dropped %d; send errors %d; log lines suppressed %d; uptime %dh%02dm%02ds"
                % (self.interface, q.role, q.elected(now) or "none", self.link.address or "none", link,
                   q.queries_sent, q.queries_heard, q.queries_ignored, q.elections_won, q.elections_lost,
                   q.takeovers, q.role_changes, len(q.groups), q.groups.dropped, self.malformed,
                   self.send_errors, self.log_limit.suppressed_total, uptime // 3600, uptime // 60 % 60,
                   uptime % 60))

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(64):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def shutdown(self) -> None:
        q = self.querier
        uptime = int(self.clock() - self.started)
        log.info("Stopping on %s: queries sent %d, heard %d; elections won %d, lost %d; takeovers %d; "
                 "malformed packets dropped %d; uptime %dh%02dm%02ds",
                 self.interface, q.queries_sent, q.queries_heard, q.elections_won, q.elections_lost,
                 q.takeovers, self.malformed, uptime // 3600, uptime // 60 % 60, uptime % 60)
        for which in ("rx", "tx", "netlink"):
            self._close(which)
        for path in (self.state_path, self.config.metrics_file):  # a stopped daemon exports nothing
            try:
                if path:
                    os.unlink(path)
            except OSError:
                pass
        if self.lock_fd is not None:  # released only now: a successor never sees our state file go
            instance.release(self.lock_fd, self.config.state_dir, self.interface)
            self.lock_fd = None


def banner(daemon: Daemon) -> None:
    timers = daemon.querier.timers
    address = daemon.netif.ipv4_address(daemon.interface)
    log.info("Starting IGMP Querier %s on %s (%s)", __version__, daemon.interface, address or "no IPv4 address yet")
    log.info("Query interval: %gs, Competitor timeout: %gs, Max response: %gs, Robustness: %d, IGMPv%d, "
             "Snooping timeout: %gs (takeover timeout at most %gs)",
             timers.query_interval, timers.other_querier_present_interval, timers.max_response_time,
             timers.robustness, timers.igmp_version, timers.snooping_timeout, timers.timeout_cap)
    log.info("[Startup] Sending %d rapid queries (every %gs), then one every %gs",
             timers.startup_count, timers.startup_interval, timers.query_interval)
    log.info("State file: %s", daemon.state_path)
    if timers.igmp_version == 3:
        sent_mrt = decode_float_code(encode_float_code(timers.max_response_tenths)) / 10.0
        sent_qqi = decode_float_code(encode_float_code(int(timers.query_interval)))
        if sent_mrt != timers.max_response_time or sent_qqi != timers.query_interval:
            log.warning("IGMPv3 codes carry max response %g s and query interval %d s "
                        "(configured %g s and %g s; RFC 3376 s.4.1.1 floating-point rounding)",
                        sent_mrt, sent_qqi, timers.max_response_time, timers.query_interval)

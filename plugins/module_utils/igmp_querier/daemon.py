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

import logging
import os
import selectors
import signal
import socket
import time
from typing import Callable, Optional

from . import __version__, instance, metrics, ratelimit
from . import netif as host_netif
from . import sockets as host_sockets
from . import state as statefile
from .codec import decode_float_code, encode_float_code
from .family import IGMP, MLD
from .netif import LinkState
from .side import Side
from .timers import Config

log = logging.getLogger("igmp_querier")

EXIT_OK = 0
EXIT_CONFIG = 1
EXIT_USAGE = 2
EXIT_NOPERM = 77  # sysexits EX_NOPERM

#: Dirty state is written at most this often (seconds); at least once per query interval.
STATE_MIN_GAP = 1.0
#: With rtnetlink notifications, the link is re-read this often (seconds) only as a safety net;
#: without them, every query interval. (Reading the address costs a netlink dump per call.)
LINK_RECHECK_WITH_NETLINK = 30.0

CAP_MESSAGE = (
    "CAP_NET_RAW is required to open raw IGMP and packet sockets. Run as root, or grant the "
    "capability: under systemd `AmbientCapabilities=CAP_NET_RAW` (the multicast.igmp.querier "
    "role does this), or for a manual run `sudo setcap cap_net_raw+ep \"$(readlink -f \"$(command -v python3)\")\"`"
)


class ConfigurationError(Exception):
    """Cannot run with this configuration (exit 1)."""


class Daemon:
    """``clock``, ``wall``, ``netif``, ``sockets`` and ``selector`` are the daemon's only ways out;
    unit tests pass fakes (tests/unit/.../test_daemon.py). One :class:`side.Side` per address
    family: ``igmp`` always, ``mld`` with ``--mld-version`` (else None)."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, netif=host_netif, sockets=host_sockets,
                 selector: Optional[selectors.BaseSelector] = None) -> None:
        self.config = config
        self.interface = config.interface
        self.clock = clock
        self.wall = wall
        self.netif = netif
        self.sockets = sockets
        self.selector = selectors.DefaultSelector() if selector is None else selector
        self.log_limit = ratelimit.LogLimiter()
        self.igmp = self._side(IGMP)
        self.mld = self._side(MLD) if config.timers.mld_version else None
        self.sides = [side for side in (self.igmp, self.mld) if side is not None]
        self.started_wall = wall()
        self.started = clock()
        self.link = LinkState(False, False, 0, None)
        self.netlink: Optional[socket.socket] = None
        self.stopping = False
        self.link_check_at = 0.0
        self.state_dirty = True
        self.state_written = float("-inf")
        self.state_path = statefile.state_path(config.state_dir, config.interface)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._last_state_error = float("-inf")
        self.lock_fd: Optional[int] = None
        self._reload_requested = False
        self._status_requested = False
        self._signals_installed = False
        self._last_metrics_error = float("-inf")

    def _side(self, family) -> Side:
        return Side(family, self.config.timers, self.interface, self.sockets, self.selector, self._wire_log,
                    self._changed, self._role_changed)

    def _changed(self) -> None:
        self.state_dirty = True

    def _role_changed(self, now: float) -> None:
        self.write_state(now)  # at once, and looked up at the call: tests wrap write_state

    # the IPv4 side's figures, as the daemon always reported them
    @property
    def querier(self):
        return self.igmp.querier

    @property
    def send_errors(self) -> int:
        return self.igmp.send_errors

    @property
    def malformed(self) -> int:
        return self.igmp.malformed

    @property
    def backoff(self) -> float:
        return self.igmp.backoff

    # --- set-up ---------------------------------------------------------------------
    def preflight(self) -> None:
        """Refuse early what cannot work: a missing interface, no CAP_NET_RAW, no state dir."""
        if not self.netif.index(self.interface):
            raise ConfigurationError(self.netif.missing_interface_message(self.interface))
        # Without CAP_NET_RAW this raises PermissionError, which main() turns into exit 77.
        self.sockets.check_raw()
        if self.mld is not None:
            try:
                self.sockets.check_raw6()
            except PermissionError:
                raise
            except OSError as exc:
                raise ConfigurationError("--mld-version needs IPv6, which this host cannot open a raw ICMPv6 "
                                         "socket for (%s)" % exc)
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

    # --- link and address -----------------------------------------------------------
    def check_link(self, now: float) -> bool:
        """Re-read the link and let each family follow it (:func:`link.plan`); True when a query left."""
        old = self.link
        new = self.netif.link_state(self.interface, ipv6=True) if self.mld is not None else \
            self.netif.link_state(self.interface)
        self.link = new
        interval = min(side.querier.query_interval for side in self.sides)
        if self.netlink is not None:
            interval = max(interval, LINK_RECHECK_WITH_NETLINK)
        self.link_check_at = now + interval
        sent = False
        for side in self.sides:
            sent = side.follow(old, new, now, link_logs=side is self.igmp) or sent
        self.state_dirty = True
        return sent

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
        """Carry out the IPv4 querier's events; True when a query left."""
        return self.igmp.apply(events, now)

    def on_rx(self, side: Side, now: float) -> None:
        if not side.on_rx(now):
            self.check_link(now)

    def on_netlink(self, now: float) -> None:
        indexes = self.sockets.drain_netlink(self.netlink)
        if 0 in indexes or self.link.index in indexes or not self.link.exists or not self.link.up:
            self.check_link(now)

    # --- state file -----------------------------------------------------------------
    def write_state(self, now: float) -> None:
        link = "up" if self.link.up else ("down" if self.link.exists else "absent")
        igmp, mld = self.igmp, self.mld
        document = statefile.build(
            igmp.querier, interface=self.interface, address=self.link.address, link=link,
            pid=os.getpid(), version=__version__, started=self.started_wall,
            malformed=igmp.malformed, now_mono=now, now_wall=self.wall(), send_errors=igmp.send_errors,
            versions_heard=igmp.versions_heard,
            mld=None if mld is None else statefile.Section(mld.querier, mld.address, mld.malformed, mld.send_errors,
                                                           mld.versions_heard),
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
        return self.state_written + min(side.querier.query_interval for side in self.sides)

    # --- the loop -------------------------------------------------------------------
    def _querier_deadline(self) -> Optional[float]:
        deadlines = [d for d in (side.querier.next_deadline() for side in self.sides) if d is not None]
        return min(deadlines) if deadlines else None

    def _retry_due(self, now: float) -> bool:
        return any(side.retry_at is not None and now >= side.retry_at for side in self.sides)

    def next_deadline(self) -> float:
        candidates = [self._state_due(), self.link_check_at]
        deadline = self._querier_deadline()
        if deadline is not None:
            candidates.append(deadline)
        candidates.extend(side.retry_at for side in self.sides if side.retry_at is not None)
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
                if isinstance(key.data, Side):
                    self.on_rx(key.data, now)
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
            if self._retry_due(now) or now >= self.link_check_at:
                sent = self.check_link(now)
            for side in self.sides:
                sent = side.apply(side.querier.tick(now), now) or sent
            if sent and self.link_check_at < (self._querier_deadline() or float("inf")):
                # Re-check early rather than wake up for it alone before the next query.
                self.check_link(now)
            if sent or now >= self._state_due():
                # Also right after a query went out: the file shows it at once, and the write
                # shares the query's wake-up instead of taking one of its own a moment later.
                self.write_state(now)
        self.shutdown()
        return EXIT_OK

    def reload(self, now: float) -> None:
        """SIGHUP: re-read the link, reopen every socket, rewrite the state file. The queriers'
        roles and schedules carry on as they were (no startup burst, no election)."""
        log.info("SIGHUP: re-checking %s, reopening its sockets and rewriting %s", self.interface, self.state_path)
        for side in self.sides:
            side.close_all()
            side.reset_backoff()
        self.check_link(now)
        self.write_state(now)

    def status_line(self, now: float) -> str:
        """SIGUSR1: everything the state file says about the election and the counters, in one line."""
        q = self.igmp.querier
        uptime = int(now - self.started)
        link = "up" if self.link.up else ("down" if self.link.exists else "absent")
        line = ("Status on %s: %s, querier %s, our address %s, link %s; queries sent %d, heard %d, ignored %d; "
                "elections won %d, lost %d; takeovers %d; role changes %d; groups %d (overflow %d); "
                "malformed packets dropped %d; send errors %d; log lines suppressed %d; uptime %dh%02dm%02ds"
                % (self.interface, q.role, q.elected(now) or "none", self.link.address or "none", link,
                   q.queries_sent, q.queries_heard, q.queries_ignored, q.elections_won, q.elections_lost,
                   q.takeovers, q.role_changes, len(q.groups), q.groups.dropped, self.igmp.malformed,
                   self.igmp.send_errors, self.log_limit.suppressed_total, uptime // 3600, uptime // 60 % 60,
                   uptime % 60))
        if self.mld is not None:
            line += "; MLD: " + self.mld.status(now)
        return line

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(64):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def shutdown(self) -> None:
        uptime = int(self.clock() - self.started)
        log.info("Stopping on %s: %s; uptime %dh%02dm%02ds", self.interface, self.igmp.totals(),
                 uptime // 3600, uptime // 60 % 60, uptime % 60)
        if self.mld is not None:
            log.info("MLD on %s: %s", self.interface, self.mld.totals())
        for side in self.sides:
            side.close_all()
        if self.netlink is not None:
            try:
                self.selector.unregister(self.netlink)
            except (KeyError, ValueError):
                pass
            self.netlink.close()
            self.netlink = None
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
    timers = daemon.igmp.querier.timers
    address = daemon.netif.ipv4_address(daemon.interface)
    log.info("Starting IGMP Querier %s on %s (%s)", __version__, daemon.interface, address or "no IPv4 address yet")
    log.info("Query interval: %gs, Competitor timeout: %gs, Max response: %gs, Robustness: %d, IGMPv%d, "
             "Snooping timeout: %gs (takeover timeout at most %gs)",
             timers.query_interval, timers.other_querier_present_interval, timers.max_response_time,
             timers.robustness, timers.igmp_version, timers.snooping_timeout, timers.timeout_cap)
    if daemon.mld is not None:
        log.info("MLD querier on: MLDv%d from the IPv6 link-local address, same timers", timers.mld_version)
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

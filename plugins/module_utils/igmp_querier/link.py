# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""Link transitions: what the daemon does when the interface's state goes from ``old`` to ``new``.

Pure: :func:`plan` reads two :class:`netif.LinkState` values and returns a :class:`LinkPlan`
(sockets to close, whether to reopen them, whether the querier starts or changes address, the
lines to log). The daemon's ``check_link`` carries it out.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import NamedTuple, Optional, Tuple

from .netif import LinkState


class Action(Enum):
    START = "start"  # Querier.start(): the startup query burst
    SET_ADDRESS = "set-address"  # Querier.set_address(): one query from the new source


class LinkPlan(NamedTuple):
    close_rx: bool
    close_tx: bool
    open_sockets: bool  # (re)open the missing sockets; when that fails nothing below happens
    action: Optional[Action] = None
    logs: Tuple[Tuple[int, str], ...] = ()  # (level, line) logged before anything else
    action_log: Optional[Tuple[int, str]] = None  # logged once the sockets are open, before action


def plan(interface: str, old: LinkState, new: LinkState, queried: bool, address_label: str = "IPv4 address",
         link_logs: bool = True) -> LinkPlan:
    """``queried``: a query has already left (an address that appears later is a change, not a start).
    ``address``: the querier's source of one family (see side.Side.view), ``address_label`` what it
    is; ``link_logs``: also log the link's own transitions (the daemon's first family does)."""
    if not new.exists:
        logs = ((logging.WARNING, "Interface %s is gone; waiting for it to come back" % interface),)
        return LinkPlan(True, True, False, logs=logs if old.exists and link_logs else ())
    if not new.up:
        logs = ((logging.WARNING, "Link %s is down; waiting for it to come up" % interface),)
        return LinkPlan(True, True, False, logs=logs if (old.up or not old.exists) and link_logs else ())
    came_up = not old.up or old.index != new.index
    logs = []
    if came_up and old.exists and link_logs:
        logs.append((logging.INFO, "Link %s is up again (%s)" % (interface, new.address or "no " + address_label)))
    close_tx = came_up or old.address != new.address
    close_rx = close_tx and old.index != new.index
    if new.address is None and (came_up or old.address is not None):
        logs.append((logging.WARNING, "No %s on %s; cannot query until one is assigned" % (address_label, interface)))
    action, action_log = None, None
    if came_up:
        action = Action.START
    elif old.address is None and new.address is not None and not queried:
        # Our first address (e.g. DHCP answered after the daemon started): no query has left
        # yet, so start up now, startup query burst included (set_address() sends one query).
        action = Action.START
        action_log = (logging.INFO, "Address of %s is now %s: starting up" % (interface, new.address))
    elif old.address != new.address:
        action = Action.SET_ADDRESS
    return LinkPlan(close_rx, close_tx, True, action, tuple(logs), action_log)

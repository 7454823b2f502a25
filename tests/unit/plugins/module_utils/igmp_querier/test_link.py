"""Link transitions (link.plan), one test per (old, new) pair the daemon meets."""

import logging

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.link import Action, LinkPlan, plan
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.netif import LinkState

IF = "eth0"
A, B = "10.0.0.5", "10.0.0.6"
ABSENT = LinkState(False, False, 0, None)
DOWN = LinkState(True, False, 3, A)
UP = LinkState(True, True, 3, A)
UP_NO_ADDRESS = LinkState(True, True, 3, None)
UP_B = LinkState(True, True, 3, B)
RECREATED = LinkState(True, True, 7, A)  # same name, new ifindex: the interface was re-created

GONE = (logging.WARNING, "Interface eth0 is gone; waiting for it to come back")
IS_DOWN = (logging.WARNING, "Link eth0 is down; waiting for it to come up")
NO_ADDRESS = (logging.WARNING, "No IPv4 address on eth0; cannot query until one is assigned")
UP_AGAIN = (logging.INFO, "Link eth0 is up again (10.0.0.5)")

CASES = [
    # name, old, new, queried, expected plan
    ("absent stays absent", ABSENT, ABSENT, False, LinkPlan(True, True, False)),
    ("interface disappears", UP, ABSENT, True, LinkPlan(True, True, False, logs=(GONE,))),
    ("interface appears down", ABSENT, DOWN, False, LinkPlan(True, True, False, logs=(IS_DOWN,))),
    ("link goes down", UP, DOWN, True, LinkPlan(True, True, False, logs=(IS_DOWN,))),
    ("link stays down: logged once", DOWN, DOWN, True, LinkPlan(True, True, False)),
    ("first start with an address", ABSENT, UP, False, LinkPlan(True, True, True, Action.START)),
    ("first start without an address", ABSENT, UP_NO_ADDRESS, False,
     LinkPlan(True, True, True, Action.START, logs=(NO_ADDRESS,))),
    ("link comes back up", DOWN, UP, True, LinkPlan(False, True, True, Action.START, logs=(UP_AGAIN,))),
    ("interface re-created (new index)", UP, RECREATED, True,
     LinkPlan(True, True, True, Action.START, logs=(UP_AGAIN,))),
    ("address changes", UP, UP_B, True, LinkPlan(False, True, True, Action.SET_ADDRESS)),
    ("first address before any query: start up", UP_NO_ADDRESS, UP, False,
     LinkPlan(False, True, True, Action.START,
              action_log=(logging.INFO, "Address of eth0 is now 10.0.0.5: starting up"))),
    ("address assigned after queries left", UP_NO_ADDRESS, UP, True,
     LinkPlan(False, True, True, Action.SET_ADDRESS)),
    ("address removed", UP, UP_NO_ADDRESS, True, LinkPlan(False, True, True, Action.SET_ADDRESS, logs=(NO_ADDRESS,))),
    ("still no address: warned once", UP_NO_ADDRESS, UP_NO_ADDRESS, True, LinkPlan(False, False, True)),
    ("nothing changed: only reopen what is missing", UP, UP, True, LinkPlan(False, False, True)),
]


@pytest.mark.parametrize("old, new, queried, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_link_transition(old, new, queried, expected):
    assert plan(IF, old, new, queried) == expected


def test_up_again_names_the_missing_address():
    todo = plan(IF, DOWN, UP_NO_ADDRESS, True)
    assert todo.logs == ((logging.INFO, "Link eth0 is up again (no IPv4 address)"), NO_ADDRESS)
    assert todo.action is Action.START

# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""PRIVATE: shared by the modules ``igmp_status`` and ``igmp_probe``; not a public API.

- :func:`text_option_errors`: text that no interface, address, id or path option may hold (NUL
  and other control characters), named in the message;
- :func:`receive_until`: the modules' receive loop, whose deadline holds under a flood.
"""

from __future__ import annotations

import re
import select
import time
from typing import Any, Callable, Dict, Iterable, List, Optional

#: Datagrams read from one ready socket before the clock is looked at again. Under a flood a
#: socket never runs dry, so a loop that drains it before checking its deadline never ends.
BATCH = 64

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text_option_errors(params: Dict[str, Any], names: Iterable[str]) -> List[str]:
    """One message per option in ``names`` whose text holds NUL or another control character;
    checked before the value reaches a system call or a file name."""
    errors = []
    for name in names:
        value = params.get(name)
        if not isinstance(value, str):
            continue
        if "\0" in value:
            errors.append("%s must not contain a NUL byte, got %s" % (name, _show(value)))
        elif _CONTROL.search(value):
            errors.append("%s must not contain control characters, got %s" % (name, _show(value)))
    return errors


def receive_until(socks: List[Any], seconds: float, receive: Callable[[Any], Optional[Any]],
                  handle: Callable[[Any, Any], None], done: Optional[Callable[[], bool]] = None,
                  clock: Callable[[], float] = time.monotonic, batch: int = BATCH) -> bool:
    """Feed what arrives on ``socks`` to ``handle(sock, got)`` for ``seconds``.

    ``receive(sock)`` returns one datagram (any value) or None when none is waiting. The
    deadline and ``done()`` are checked after every ``batch`` datagrams of a socket, so the
    loop ends within one batch of the deadline however fast datagrams arrive. Returns True
    when ``done()`` ended it, False at the deadline.
    """
    deadline = clock() + seconds
    while socks:
        if done is not None and done():
            return True
        left = deadline - clock()
        if left <= 0:
            return False
        for sock in select.select(socks, [], [], left)[0]:
            for _count in range(batch):
                got = receive(sock)
                if got is None:
                    break
                handle(sock, got)
            if clock() >= deadline or (done is not None and done()):
                break
    return False

# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""One global budget for the log lines that traffic on the wire can trigger.

A flood (forged queries from many sources, malformed frames, send congestion) must not turn
into a flood of log lines: at most :data:`BUDGET` such lines in any :data:`WINDOW` seconds, of
which debug lines may take at most :data:`DEBUG_BUDGET` (so ``-v`` chatter cannot crowd out a
role change). The first line let through after some were held back says how many. Pure: the
caller passes the time in.
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Optional

BUDGET = 20
DEBUG_BUDGET = 10
WINDOW = 10.0


class _Window:
    """At most ``budget`` admissions in any ``window`` seconds (a sliding window)."""

    def __init__(self, budget: int, window: float) -> None:
        self.window = window
        self._times: Deque[float] = deque(maxlen=budget)

    def full(self, now: float) -> bool:
        times = self._times
        return len(times) == times.maxlen and now - times[0] < self.window

    def add(self, now: float) -> None:
        self._times.append(now)


class LogLimiter:
    """Decide, line by line, whether a wire-driven log line may be written."""

    def __init__(self, budget: int = BUDGET, window: float = WINDOW, debug_budget: int = DEBUG_BUDGET) -> None:
        if not 0 < debug_budget <= budget or window <= 0:
            raise ValueError("need 0 < debug_budget <= budget and window > 0")
        self._all = _Window(budget, window)
        self._debug = _Window(debug_budget, window)
        self.suppressed = 0  # held back since the last line let through
        self.suppressed_total = 0

    def admit(self, now: float, debug: bool = False) -> Optional[int]:
        """None: drop this line. Otherwise write it, noting the returned number of lines
        suppressed since the previous line written (0: none)."""
        if self._all.full(now) or (debug and self._debug.full(now)):
            self.suppressed += 1
            self.suppressed_total += 1
            return None
        self._all.add(now)
        if debug:
            self._debug.add(now)
        held, self.suppressed = self.suppressed, 0
        return held

# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The schedule of group-specific queries that follow leaves: coalesced per group and paced.

A group with queries pending takes no second set (a repeated leave is coalesced); every query
leaves no earlier than its due time and no faster than a token bucket allows (RATE per second,
bursts of BURST), so a flood of leaves can neither flood the LAN nor delay a General Query (the
caller emits those first). At most MAX_PENDING groups wait; leaves beyond that are counted and
dropped. Pure: time is passed in.
"""

from __future__ import annotations

import heapq
from typing import Dict, List, Optional, Tuple

RATE = 100.0  # group-specific queries per second, at most
BURST = 50
MAX_PENDING = 4096
#: A token that float rounding left a hair short still counts (else a deadline could never advance).
_EPSILON = 1e-6


class GroupQueries:
    def __init__(self, rate: float = RATE, burst: int = BURST, max_pending: int = MAX_PENDING) -> None:
        self.rate, self.burst, self.max_pending = rate, burst, max_pending
        self.dropped = 0  # leaves that found the schedule full
        self._left: Dict[str, Tuple[int, int]] = {}  # group -> (queries still to send, entry number)
        self._due: List[Tuple[float, int, str]] = []  # heap of (due, entry number, group)
        self._serial = 0
        self._tokens = float(burst)
        self._filled_at: Optional[float] = None

    def __len__(self) -> int:
        return len(self._left)

    def __contains__(self, group: str) -> bool:
        return group in self._left

    def request(self, group: str, count: int, now: float) -> bool:
        """Schedule ``count`` queries for ``group`` from ``now``; False if coalesced or dropped."""
        if group in self._left:
            return False
        if len(self._left) >= self.max_pending:
            self.dropped += 1
            return False
        self._push(group, count, now)
        return True

    def _push(self, group: str, count: int, when: float) -> None:
        self._serial += 1
        self._left[group] = (count, self._serial)
        heapq.heappush(self._due, (when, self._serial, group))

    def cancel(self, group: str) -> None:
        """A member answered: no more queries for ``group``."""
        self._left.pop(group, None)

    def clear(self) -> None:
        self._left.clear()
        self._due = []

    def _refill(self, now: float) -> None:
        if self._filled_at is not None and now > self._filled_at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._filled_at) * self.rate)
        self._filled_at = now if self._filled_at is None else max(self._filled_at, now)

    def _drop_stale_head(self) -> None:
        """Entries of cancelled (or cancelled and requested again) groups are skipped here."""
        due, left = self._due, self._left
        while due and left.get(due[0][2], (0, None))[1] != due[0][1]:
            heapq.heappop(due)

    def pop_due(self, now: float, interval: float) -> List[str]:
        """The groups to query now; each is due again ``interval`` later while it has queries left."""
        self._refill(now)
        out: List[str] = []
        due = self._due
        while self._tokens >= 1.0 - _EPSILON:
            self._drop_stale_head()
            if not due or due[0][0] > now:
                break
            group = heapq.heappop(due)[2]
            self._tokens -= 1.0
            out.append(group)
            left = self._left[group][0] - 1
            if left > 0:
                self._push(group, left, now + interval)
            else:
                del self._left[group]
        return out

    def next_deadline(self) -> Optional[float]:
        self._drop_stale_head()
        if not self._due:
            return None
        when = self._due[0][0]
        if self._tokens < 1.0 - _EPSILON and self._filled_at is not None:
            when = max(when, self._filled_at + (1.0 - self._tokens) / self.rate)
        return when

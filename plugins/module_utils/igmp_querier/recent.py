# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""A bounded table of addresses and the time each was last seen, kept in that order.

Every per-source table of the querier is one of these, so hostile traffic from many sources costs
O(1) per packet and bounded memory: the oldest entry makes room for a new one, and pruning by age
pops from the old end only. Pure data structure: time is passed in and must not go backwards.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator, Optional, Tuple


class RecentTable:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.evicted = 0  # entries dropped to make room (not by age)
        self._seen: "OrderedDict[str, float]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, address: str) -> bool:
        return address in self._seen

    def get(self, address: str) -> Optional[float]:
        return self._seen.get(address)

    def touch(self, address: str, now: float) -> None:
        seen = self._seen
        if address in seen:
            seen.move_to_end(address)
        elif len(seen) >= self.limit:
            seen.popitem(last=False)
            self.evicted += 1
        seen[address] = now

    def pop(self, address: str) -> Optional[float]:
        return self._seen.pop(address, None)

    def prune(self, before: float) -> int:
        """Forget every entry last seen before ``before``; returns how many went."""
        seen, gone = self._seen, 0
        while seen:
            address, when = next(iter(seen.items()))
            if when >= before:
                break
            del seen[address]
            gone += 1
        return gone

    def items(self) -> Iterator[Tuple[str, float]]:
        return iter(list(self._seen.items()))

    def clear(self) -> None:
        self._seen.clear()

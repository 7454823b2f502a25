# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The group membership table a querier learns from the reports and leaves it hears.

Pure data structure: time is passed in. Not source-aware (IGMPv3 source lists are not
tracked); a group is present while any host reports it. Link-local groups (224.0.0.0/24) are
never entered: hosts do not report them for snooping, and a snooping bridge reports 224.0.0.106
itself. Expiry is a heap, so no per-packet scan of the table.
"""

from __future__ import annotations

import heapq
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from .codec import (
    ALLOW_NEW_SOURCES,
    BLOCK_OLD_SOURCES,
    CHANGE_TO_INCLUDE,
    MODE_IS_INCLUDE,
    Leave,
    Report,
    V3Report,
    is_link_local_group,
)

#: Hard cap on remembered groups, so a report flood cannot grow memory without bound.
MAX_GROUPS = 4096


class Membership(NamedTuple):
    group: str
    last_reporter: str
    version: int
    expires: float  # on the caller's clock


class GroupTable:
    def __init__(self, max_groups: int = MAX_GROUPS, unreported: Callable[[str], bool] = is_link_local_group,
                 full_version: int = 3) -> None:
        """``unreported``: groups never held (the family's link-local ones); ``full_version``: the
        version recorded for a source-filtering report (IGMPv3, MLDv2)."""
        self._unreported = unreported
        self._full_version = full_version
        self._groups: Dict[str, Membership] = {}
        self._expiry: List[Tuple[float, str]] = []  # heap; entries whose time no longer matches are stale
        self.max_groups = max_groups
        self.dropped = 0  # reports refused because the table was full

    def __len__(self) -> int:
        return len(self._groups)

    def __contains__(self, group: str) -> bool:
        return group in self._groups

    def get(self, group: str) -> Optional[Membership]:
        return self._groups.get(group)

    def memberships(self) -> List[Membership]:
        return sorted(self._groups.values(), key=lambda m: m.group)

    def _set(self, entry: Membership) -> None:
        self._groups[entry.group] = entry
        heapq.heappush(self._expiry, (entry.expires, entry.group))
        if len(self._expiry) > 4 * len(self._groups) + 64:  # drop the stale entries
            self._expiry = [(m.expires, m.group) for m in self._groups.values()]
            heapq.heapify(self._expiry)

    def refresh(self, group: str, reporter: str, version: int, expires: float) -> bool:
        """Record a report; returns True when the group is new."""
        if self._unreported(group):
            return False
        new = group not in self._groups
        if new and len(self._groups) >= self.max_groups:
            self.dropped += 1
            return False
        self._set(Membership(group, reporter, version, expires))
        return new

    def lower_timer(self, group: str, expires: float) -> bool:
        """Shorten a group's timer (after a leave or a group-specific query); True if changed."""
        entry = self._groups.get(group)
        if entry is None or entry.expires <= expires:
            return False
        self._set(entry._replace(expires=expires))
        return True

    def _drop_stale_head(self) -> None:
        heap, groups = self._expiry, self._groups
        while heap:
            when, group = heap[0]
            entry = groups.get(group)
            if entry is not None and entry.expires == when:
                return
            heapq.heappop(heap)

    def expire(self, now: float) -> List[Membership]:
        gone = []
        heap = self._expiry
        while True:
            self._drop_stale_head()
            if not heap or heap[0][0] > now:
                return gone
            gone.append(self._groups.pop(heapq.heappop(heap)[1]))

    def next_expiry(self) -> Optional[float]:
        self._drop_stale_head()
        return self._expiry[0][0] if self._expiry else None

    def apply(self, src: str, message, now: float, membership_interval: float) -> List[str]:
        """Apply a report or leave; returns the groups that left (for group-specific queries),
        held in the table or not (a leave is worth its queries either way), link-local ones aside."""
        expires = now + membership_interval
        if isinstance(message, Report):
            self.refresh(message.group, src, message.version, expires)
            return []
        if isinstance(message, Leave):
            return [] if self._unreported(message.group) else [message.group]
        if isinstance(message, V3Report):
            left = []
            for rec in message.records:
                if rec.record_type in (CHANGE_TO_INCLUDE, MODE_IS_INCLUDE) and not rec.sources:
                    if not self._unreported(rec.group) and rec.group not in left:
                        left.append(rec.group)
                elif rec.record_type == BLOCK_OLD_SOURCES:
                    continue
                elif rec.record_type == ALLOW_NEW_SOURCES and not rec.sources:
                    continue
                else:
                    self.refresh(rec.group, src, self._full_version, expires)
            return left
        return []

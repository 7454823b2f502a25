# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The group membership table a querier learns from the reports and leaves it hears.

Pure data structure: time is passed in. Not source-aware (IGMPv3 source lists are not
tracked); a group is present while any host reports it.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional

from .codec import (
    ALLOW_NEW_SOURCES,
    BLOCK_OLD_SOURCES,
    CHANGE_TO_INCLUDE,
    MODE_IS_INCLUDE,
    Leave,
    Report,
    V3Report,
)

#: Hard cap on remembered groups, so a report flood cannot grow memory without bound.
MAX_GROUPS = 4096


class Membership(NamedTuple):
    group: str
    last_reporter: str
    version: int
    expires: float  # on the caller's clock


class GroupTable:
    def __init__(self, max_groups: int = MAX_GROUPS) -> None:
        self._groups: Dict[str, Membership] = {}
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

    def refresh(self, group: str, reporter: str, version: int, expires: float) -> bool:
        """Record a report; returns True when the group is new."""
        new = group not in self._groups
        if new and len(self._groups) >= self.max_groups:
            self.dropped += 1
            return False
        self._groups[group] = Membership(group, reporter, version, expires)
        return new

    def lower_timer(self, group: str, expires: float) -> bool:
        """Shorten a group's timer (after a leave or a group-specific query); True if changed."""
        entry = self._groups.get(group)
        if entry is None or entry.expires <= expires:
            return False
        self._groups[group] = entry._replace(expires=expires)
        return True

    def expire(self, now: float) -> List[Membership]:
        gone = [m for m in self._groups.values() if m.expires <= now]
        for m in gone:
            del self._groups[m.group]
        return gone

    def next_expiry(self) -> Optional[float]:
        if not self._groups:
            return None
        return min(m.expires for m in self._groups.values())

    def apply(self, src: str, message, now: float, membership_interval: float) -> List[str]:
        """Apply a report or leave; returns the groups that left (for group-specific queries)."""
        expires = now + membership_interval
        if isinstance(message, Report):
            self.refresh(message.group, src, message.version, expires)
            return []
        if isinstance(message, Leave):
            return [message.group] if message.group in self._groups else []
        if isinstance(message, V3Report):
            left = []
            for rec in message.records:
                if rec.record_type in (CHANGE_TO_INCLUDE, MODE_IS_INCLUDE) and not rec.sources:
                    if rec.group in self._groups:
                        left.append(rec.group)
                elif rec.record_type == BLOCK_OLD_SOURCES:
                    continue
                elif rec.record_type == ALLOW_NEW_SOURCES and not rec.sources:
                    continue
                else:
                    self.refresh(rec.group, src, 3, expires)
            return left
        return []

# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
#
# PRIVATE: this module is private to the multicast.igmp collection. It may change or go away
# without notice, in any release; do not import it from outside this collection.
"""systemd names and output of the ``igmp-querier@IFACE.service`` instances, in one place.

Used by the ``igmp_status`` module, the on-host ``igmp-querier status`` command and, through the
``querier_unit`` filter, the ``querier`` role. Standard library only: it ships to every host.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

UNIT_TEMPLATE = "igmp-querier@"
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
             "/usr/lib/systemd/system", "/lib/systemd/system")
#: Active states of a unit that exists (installed), whatever it does now.
ACTIVE_LIKE = ("active", "activating", "deactivating", "reloading", "failed", "refreshing")
#: Unit file states that start the unit at boot.
ENABLED_LIKE = ("enabled", "enabled-runtime", "linked", "linked-runtime", "alias", "indirect")
SHOW_PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState")
#: Where a running systemd keeps its runtime units; absent when systemd is not PID 1.
RUNNING_MARKER = "/run/systemd/system"

_ESCAPED = re.compile(r"\\x([0-9a-fA-F]{2})")


def escape_instance(name: str) -> str:
    """An instance name escaped as ``systemd-escape`` does: \\xNN for all but [A-Za-z0-9:_.], and a
    leading '.'."""
    out = []
    for index, char in enumerate(name):
        if (char.isascii() and char.isalnum()) or char in ":_" or (char == "." and index > 0):
            out.append(char)
        else:
            out.append("".join("\\x%02x" % octet for octet in char.encode("utf-8")))
    return "".join(out)


def unescape_instance(instance: str) -> str:
    """The reverse of :func:`escape_instance`: \\xNN are UTF-8 bytes (interface names never contain '/')."""
    data = bytearray()
    for index, piece in enumerate(_ESCAPED.split(instance)):
        # split() alternates text and the captured hex digits
        data.extend(bytes((int(piece, 16),)) if index % 2 else piece.encode("utf-8", "surrogateescape"))
    return data.decode("utf-8", errors="replace")


def unit_name(interface: str) -> str:
    """``igmp-querier@IFACE.service`` with systemd's escaping of the instance name."""
    return "%s%s.service" % (UNIT_TEMPLATE, escape_instance(interface))


def instance_of(unit: str) -> Optional[str]:
    """``igmp-querier@eth0.service`` (or a path to it) -> ``eth0``; None for other units and the template."""
    unit = os.path.basename(unit)
    if not unit.startswith(UNIT_TEMPLATE) or not unit.endswith(".service"):
        return None
    instance = unescape_instance(unit[len(UNIT_TEMPLATE):-len(".service")])
    return instance or None


def unit_files(interface: str, root: str = "/") -> List[str]:
    """Files that install ``igmp-querier@IFACE``: an instance unit, a drop-in, an enabled link."""
    found = []
    name = unit_name(interface)
    for directory in UNIT_DIRS:
        base = os.path.join(root, directory.lstrip("/"))
        for path in (os.path.join(base, name), os.path.join(base, name + ".d")):
            if os.path.lexists(path):
                found.append(path)
        found.extend(sorted(glob.glob(os.path.join(glob.escape(base), "*.wants", glob.escape(name)))))
    return found


def enabled_instances(root: str = "/") -> Set[str]:
    """Interfaces with an enabled link ``*.wants/igmp-querier@IFACE.service`` or an instance file."""
    names = set()
    for directory in UNIT_DIRS:
        base = glob.escape(os.path.join(root, directory.lstrip("/")))
        for path in glob.glob(os.path.join(base, "*.wants", UNIT_TEMPLATE + "*.service")) + glob.glob(
                os.path.join(base, UNIT_TEMPLATE + "?*.service")):
            instance = instance_of(path)
            if instance:
                names.add(instance)
    return names


def parse_show(text: str) -> Dict[str, str]:
    """``systemctl show -p A,B`` output -> {A: value, B: value}."""
    result = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip()] = value.strip()
    return result


def parse_list_units(text: str) -> Set[str]:
    """``systemctl list-units --plain --no-legend`` output -> the querier interfaces listed."""
    names = set()
    for line in text.splitlines():
        fields = [f for f in line.split() if f not in ("*", "\u25cf")]  # failed units carry a bullet
        if fields:
            instance = instance_of(fields[0])
            if instance:
                names.add(instance)
    return names


Runner = Callable[[Sequence[str]], Tuple[int, str, str]]


class Systemd:
    """Asks systemctl about querier units; ``available`` is False on hosts without systemd.

    ``run(argv)`` returns (rc, stdout, stderr) and ``warn(text)`` reports a soft problem: the
    module passes AnsibleModule's, the on-host command its own.
    """

    def __init__(self, systemctl: Optional[str], run: Runner, warn: Callable[[str], None] = lambda text: None,
                 running: Optional[bool] = None):
        self.systemctl = systemctl
        self.run = run
        self.warn = warn
        self.note = None
        if not (os.path.isdir(RUNNING_MARKER) if running is None else running):
            self.note = "systemd is not running on this host: active and enabled are unknown"
        elif not systemctl:
            self.note = "systemctl not found: active and enabled are unknown"
        self.available = self.note is None

    def instances(self) -> Set[str]:
        """Interfaces of the querier units systemd knows (loaded or not)."""
        if not self.available:
            return set()
        rc, out, err = self.run(
            [self.systemctl, "list-units", "--all", "--plain", "--no-legend", "--no-pager", UNIT_TEMPLATE + "*.service"])
        if rc != 0:
            self.warn("systemctl list-units failed (rc %d): %s" % (rc, err.strip()))
            return set()
        return parse_list_units(out)

    def show(self, interface: str) -> Optional[Dict[str, Optional[str]]]:
        """name, load_state, active_state, sub_state, unit_file_state of the interface's unit."""
        if not self.available:
            return None
        name = unit_name(interface)
        rc, out, err = self.run([self.systemctl, "show", name, "--no-pager", "-p", ",".join(SHOW_PROPERTIES)])
        if rc != 0:
            self.warn("systemctl show %s failed (rc %d): %s" % (name, rc, err.strip()))
            return None
        props = parse_show(out)
        return {
            "name": name,
            "load_state": props.get("LoadState"),
            "active_state": props.get("ActiveState"),
            "sub_state": props.get("SubState"),
            "unit_file_state": props.get("UnitFileState"),
        }


def facts(unit: Optional[Dict[str, Optional[str]]]) -> Dict[str, Optional[bool]]:
    """{"active", "enabled"} of a :meth:`Systemd.show` result; None each without a loaded unit."""
    if unit is None or unit.get("load_state") != "loaded":
        return {"active": None, "enabled": None}
    return {"active": unit.get("active_state") == "active", "enabled": unit.get("unit_file_state") in ENABLED_LIKE}

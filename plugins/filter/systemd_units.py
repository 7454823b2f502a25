# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE). The MIT License is compatible with the
# GNU General Public License version 3, under which Ansible is distributed.
"""The querier units' names for the role, by the code igmp_status and the host use (no Jinja escaping).

``querier_unit``: ``br-lan`` -> ``igmp-querier@br\\x2dlan.service``.
``querier_instance``: a unit name or path -> its interface, or None for other units.
"""

from __future__ import annotations

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import _systemd, state


def _error(text):
    # imported when needed: loading controller code switches in-process module tests' warnings to the display
    from ansible.errors import AnsibleFilterError
    return AnsibleFilterError(text)


def querier_unit(interface):
    """The ``igmp-querier@IFACE.service`` of an interface name, escaped as systemd escapes it."""
    if not state.is_interface_name(interface):
        raise _error("querier_unit: %r is not a Linux interface name (1..15 bytes, no '/' or spaces)" % (interface,))
    return _systemd.unit_name(interface)


def querier_instance(unit):
    """The interface of ``igmp-querier@IFACE.service`` (a name or a path); None for any other unit."""
    if not isinstance(unit, str):
        raise _error("querier_instance: expects a unit name, got %r" % (unit,))
    return _systemd.instance_of(unit)


class FilterModule:
    def filters(self):
        return {"querier_unit": querier_unit, "querier_instance": querier_instance}

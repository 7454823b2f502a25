# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""Filters of the querier role: its settings judged by the daemon's own command-line rules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import config

#: Role settings (igmp_querier_<key>, or <key> in an interface mapping) passed to the daemon as
#: --<key with dashes>. verbose is a switch.
VALUE_SETTINGS = (
    "query_interval",
    "max_response_time",
    "robustness",
    "timeout",
    "startup_query_count",
    "startup_query_interval",
    "igmp_version",
    "snooping_timeout",
)


def _flag(key):
    return "--" + key.replace("_", "-")


def _argv(instance):
    argv = ["--interface", "lo"]  # the name has its own check (it must exist on the host)
    for key in VALUE_SETTINGS:
        value = instance.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            raise config.UsageError("%s must be a number, got %s" % (_flag(key), value))
        argv += [_flag(key), str(value)]
    return argv


def _in_role_terms(message, names):
    """The daemon's message with each flag replaced by the role variable that set it."""
    for key in sorted(VALUE_SETTINGS, key=len, reverse=True):
        flag = _flag(key)
        message = re.sub(r"(-\w/)?%s\b" % re.escape(flag), names.get(key, "igmp_querier_" + key), message)
    return message.replace(" (see --help)", "")


def querier_problems(instances):
    """One message per instance whose settings the daemon would refuse, naming the role variable."""
    if not isinstance(instances, list):
        raise AnsibleFilterError("querier_problems expects the list of instances, got %s" % type(instances).__name__)
    problems = []
    for instance in instances:
        if not isinstance(instance, dict):
            raise AnsibleFilterError("querier_problems: an instance is not a mapping: %r" % (instance,))
        try:
            config.check(_argv(instance))
        except config.UsageError as exc:
            problems.append("%s: %s" % (instance.get("name"), _in_role_terms(str(exc), instance.get("_var") or {})))
    return problems


class FilterModule(object):
    def filters(self):
        return {"querier_problems": querier_problems}

# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""Filters of the querier role: its settings read from the daemon's option table, judged by the
daemon's own command-line rules and rendered as the settings file's IGMP_QUERIER_OPTIONS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json
import os.path
import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import config, options, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier._systemd import unescape_instance

ROLE_VARIABLE = "igmp_querier_interfaces"
_UNIT = re.compile(r"^igmp-querier@(.+)[.]service$")


class QuerierFilterError(ValueError):
    """Input a filter cannot use; Ansible sees it as an AnsibleFilterError (see FilterModule)."""


def querier_setting_keys(prefix):
    """The per-interface settings of the role (the option table's), each with ``prefix``:
    '' gives the keys of an interface mapping, 'igmp_querier_' the role variables."""
    return [prefix + option.name for option in options.ROLE_OPTIONS]


def querier_entries(value):
    """igmp_querier_interfaces as a list: a comma-separated string (from -e) is split."""
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    if value is None or value == "":
        return []
    if not isinstance(value, (list, tuple)):
        raise QuerierFilterError("%s must be a list of interfaces, got %s" % (ROLE_VARIABLE, json.dumps(value, default=str)))
    return list(value)


def querier_instances(entries, values):
    """One mapping per entry: the role-wide settings (``values``, in the order of
    querier_setting_keys) overridden by the entry's own keys, plus ``_var``: for each setting,
    the variable it came from (messages name it)."""
    if not isinstance(values, (list, tuple)) or len(values) != len(options.ROLE_OPTIONS):
        raise QuerierFilterError("querier_instances expects the values of %s" % ", ".join(querier_setting_keys("igmp_querier_")))
    defaults = dict(zip(querier_setting_keys(""), values))
    instances = []
    for entry in querier_entries(entries):
        if isinstance(entry, str):
            own = {"name": entry}
        elif isinstance(entry, dict):
            own = dict(entry)
        else:
            own = {"name": str(entry)}
        where = {}
        for option in options.ROLE_OPTIONS:
            where[option.name] = ("%s[%s].%s" % (ROLE_VARIABLE, own.get("name"), option.name) if option.name in own
                                  else option.variable)
        instance = dict(defaults)
        instance.update(own)
        instance["_var"] = where
        instances.append(instance)
    return instances


def can_be_off(option):
    """An option the daemon runs without unless given (a choice, no default): its role variable
    also takes false or "off" for "not given" (igmp_querier_mld_version)."""
    return option.default is None and bool(option.choices) and option.kind != "switch"


def _unset(option, value):
    """True when ``value`` leaves the option to the daemon's default."""
    if value is None or value == "":
        return True
    return can_be_off(option) and (value is False or (isinstance(value, str) and value.strip().lower() == "off"))


def _choice_words(option):
    return ", ".join(["off"] + [str(choice) for choice in option.choices[:-1]]) + " or %s" % option.choices[-1]


def _argv(instance):
    argv = ["--interface", "lo"]  # the name has its own check (it must exist on the host)
    for option in options.ROLE_OPTIONS:
        value = instance.get(option.name)
        if option.kind == "switch" or _unset(option, value):
            continue
        if can_be_off(option) and str(value).strip() not in [str(choice) for choice in option.choices]:
            raise config.UsageError("%s must be %s, got %s" % (option.flag, _choice_words(option),
                                                               json.dumps(value, default=str)))
        if isinstance(value, bool):
            raise config.UsageError("%s must be a number, got %s" % (option.flag, value))
        argv += [option.flag, str(value).strip() if can_be_off(option) else str(value)]
    return argv


def _in_role_terms(message, names):
    """The daemon's message with each flag replaced by the role variable that set it."""
    for option in sorted(options.ROLE_OPTIONS, key=lambda o: len(o.flag), reverse=True):
        message = re.sub(r"(-\w/)?%s\b" % re.escape(option.flag), names.get(option.name, option.variable), message)
    return message.replace(" (see --help)", "")


#: What the role has always taken for a switch (true/false in YAML, or these words from -e).
SWITCH_WORDS = ("true", "false", "yes", "no", "on", "off", "1", "0")


def _is_switch_value(value):
    return str(value).lower() in SWITCH_WORDS


def querier_problems(instances):
    """One message per instance whose settings the daemon would refuse, naming the role variable."""
    if not isinstance(instances, list):
        raise QuerierFilterError("querier_problems expects the list of instances, got %s" % type(instances).__name__)
    problems = []
    for instance in instances:
        if not isinstance(instance, dict):
            raise QuerierFilterError("querier_problems: an instance is not a mapping: %r" % (instance,))
        names = instance.get("_var") or {}
        try:
            config.check(_argv(instance))
        except config.UsageError as exc:
            problems.append("%s: %s" % (instance.get("name"), _in_role_terms(str(exc), names)))
        for option in options.ROLE_OPTIONS:
            if option.kind == "switch" and not _is_switch_value(instance.get(option.name)):
                problems.append("%s: %s must be true or false, got %s." % (
                    instance.get("name"), names.get(option.name, option.variable),
                    json.dumps(instance.get(option.name), default=str)))
    return problems


def _number(value):
    number = float(value)
    return str(int(number)) if number == int(number) else str(number)


def querier_options(instance, metrics_root=None):
    """The daemon's options for one instance (IGMP_QUERIER_OPTIONS), in the table's order; unset
    settings are left to the daemon's defaults. ``metrics_root``: write RUNTIME/IFACE/IFACE.prom."""
    if not isinstance(instance, dict) or not isinstance(instance.get("name"), str):
        raise QuerierFilterError("querier_options expects an instance mapping with a name, got %r" % (instance,))
    words = []
    for option in options.ROLE_OPTIONS:
        value = instance.get(option.name)
        try:
            if option.kind == "switch":
                if boolean(value, strict=False):
                    words.append(option.flag)
            elif _unset(option, value):
                continue
            elif option.kind == "int":
                words += [option.flag, str(int(float(value)))]
            else:
                words += [option.flag, _number(value)]
        except (TypeError, ValueError, OverflowError) as exc:
            raise QuerierFilterError("%s is not a valid value: %s" % (
                (instance.get("_var") or {}).get(option.name, option.variable), json.dumps(value, default=str))) from exc
    if metrics_root:
        name = instance["name"]
        words += [options.flag("metrics_file"), "%s/%s/%s.prom" % (metrics_root, name, name)]
    return " ".join(words)


def querier_mld(instance):
    """Whether an instance runs an MLD querier (its settings pass --mld-version): its unit then
    gets the drop-in that allows IPv6 sockets."""
    return options.flag("mld_version") in querier_options(instance).split()


def is_interface_name(name):
    """The daemon's interface-name rule (state.is_interface_name)."""
    return state.is_interface_name(name)


def querier_found_names(settings_files, unit_links=(), runtime_dirs=()):
    """Instance names found on a host: settings files IFACE.conf, enablement links
    igmp-querier@IFACE.service (systemd-escaped), runtime directories IFACE (find results)."""
    names = set()
    for found, parse in ((settings_files, lambda base: base[:-5] if base.endswith(".conf") else base),
                         (unit_links, lambda base: unescape_instance(_UNIT.match(base).group(1)) if _UNIT.match(base) else base),
                         (runtime_dirs, lambda base: base)):
        for item in found or []:
            path = item.get("path") if isinstance(item, dict) else item
            if isinstance(path, str):
                names.add(parse(os.path.basename(path)))
    return sorted(names)


def querier_duplicates(names):
    """Names listed more than once, in the order of their first appearance."""
    seen, twice = set(), []
    for name in names:
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    return twice


def _as_filter(function):
    """``function`` raising AnsibleFilterError for bad input. ansible.errors is imported only here:
    importing it loads Ansible's controller side, which unit tests of the modules must not share."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except QuerierFilterError as exc:
            from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
            raise AnsibleFilterError(str(exc)) from exc
    return wrapper


class FilterModule(object):
    def filters(self):
        return {name: _as_filter(function) for name, function in {
            "querier_setting_keys": querier_setting_keys,
            "querier_entries": querier_entries,
            "querier_instances": querier_instances,
            "querier_problems": querier_problems,
            "querier_options": querier_options,
            "querier_mld": querier_mld,
            "is_interface_name": is_interface_name,
            "querier_found_names": querier_found_names,
            "querier_duplicates": querier_duplicates,
        }.items()}

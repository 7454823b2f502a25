"""The daemon's option table (igmp_querier/options.py) is the one declaration of every option:
the role's defaults, its argument spec, the state file's timers and the README's two tables
must say what it says."""

import os
import re

import yaml

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import election, options, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers, human
from tests.options_docs import can_be_off, role_type

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
ROLE = os.path.join(REPO, "roles", "querier")


def read(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return handle.read()


def spec_options():
    return yaml.safe_load(read("roles", "querier", "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]


def readme_table(heading, first_cell):
    """The rows (lists of cells) of the first README table after ``heading`` whose header starts
    with ``first_cell``."""
    text = read("README.md")
    text = text[text.index(heading):]
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith("| " + first_cell):
            inside = True
            continue
        if inside:
            if not line.startswith("|"):
                break
            if not line.startswith("|---"):
                rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert rows, heading
    return rows


def test_every_option_has_a_long_flag_named_after_it():
    for option in options.OPTIONS:
        assert option.flag == "--" + option.name.replace("_", "-")
        assert option.kind in ("float", "int", "str", "switch")


def test_the_state_file_reports_the_table_timers():
    querier = election.Querier(Timers(), "192.168.1.5")
    document = state.build(querier, interface="eth0", address="192.168.1.5", link="up", pid=1, version="0",
                           started=0.0, malformed=0, now_mono=0.0, now_wall=1700000000.0)
    assert sorted(document["timers"]) == sorted(o.name for o in options.TIMER_OPTIONS)
    assert set(state.TIMER_FIELDS) <= set(document["timers"])


def test_role_defaults_are_the_daemon_defaults():
    defaults = yaml.safe_load(read("roles", "querier", "defaults", "main.yml"))
    for option in options.ROLE_OPTIONS:
        assert defaults[option.variable] == option.default, option.variable
    lines = dict(re.findall(r"^(igmp_querier_\w+):(.*)$", read("roles", "querier", "defaults", "main.yml"), re.M))
    for option in options.ROLE_OPTIONS:
        if option.low is not None and option.high is not None:  # the comment gives the range
            assert "%s..%s" % (human(option.low), human(option.high)) in lines[option.variable], option.variable


def test_argument_spec_types_defaults_and_choices_are_the_table():
    spec = spec_options()
    for option in options.ROLE_OPTIONS:
        entry = spec[option.variable]
        assert entry["type"] == role_type(option), option.variable
        assert entry.get("default") == option.default, option.variable
        if can_be_off(option):  # false/"off" also mean off: the role's checks name the choices
            assert entry["type"] == "raw" and "choices" not in entry, option.variable
            assert all("V(%s)" % choice in " ".join(entry["description"]) for choice in option.choices)
        else:
            assert entry.get("choices") == (list(option.choices) if option.choices else None), option.variable
        description = " ".join(entry["description"])
        assert "C(%s)" % option.flag in description, option.variable
        if option.low is not None and option.high is not None:
            assert "%s to %s" % (human(option.low), human(option.high)) in description, option.variable
    interfaces = " ".join(spec["igmp_querier_interfaces"]["description"])
    for key in options.ROLE_OPTIONS:
        assert "C(%s)" % key.name in interfaces


def test_readme_cli_table_lists_every_option_with_its_default_and_range():
    rows = readme_table("## Running the daemon by hand", "Option")
    by_flag = {}
    for row in rows:
        for flag in re.findall(r"--[a-z-]+", row[0]):
            by_flag[flag] = row
    assert set(by_flag) == {o.flag for o in options.OPTIONS} | {"--version"}
    for option in options.OPTIONS:
        cell, default, meaning = by_flag[option.flag]
        for short in option.flags[:-1]:
            assert "`%s`" % short in cell, option.flag
        if option.required:
            assert default == "required"
        elif option.kind == "switch":
            assert default == "off"
        elif isinstance(option.default, str):
            assert default == "`%s`" % option.default, option.flag
        elif option.default is not None:
            assert default == human(option.default), option.flag
        if option.low is not None and option.high is not None:
            assert "%s..%s" % (human(option.low), human(option.high)) in meaning, option.flag
        if option.choices:
            assert "{%s}" % ",".join(str(c) for c in option.choices) in cell, option.flag


def test_readme_role_table_lists_every_setting_with_its_default_and_range():
    rows = {row[0].strip("`"): row for row in readme_table("## Role variables", "variable")}
    for option in options.ROLE_OPTIONS:
        name, default, meaning = rows[option.variable]
        if option.default is None:
            assert default.startswith("unset"), name
        elif isinstance(option.default, bool):
            assert default == "`%s`" % str(option.default).lower(), name
        else:
            assert default == "`%s`" % human(option.default), name
        assert "(`%s`)" % option.flag in meaning, name
        if option.low is not None and option.high is not None:
            assert "%s to %s" % (human(option.low), human(option.high)) in meaning, name
    interfaces = rows["igmp_querier_interfaces"][2]
    for option in options.ROLE_OPTIONS:
        assert "`%s`" % option.name in interfaces

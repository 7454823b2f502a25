"""The role's filters over the daemon's option table (plugins/filter/querier.py), without Ansible
running: what each instance's settings file says, which variable a refusal names, unit names."""

import json
import shlex

import pytest

from ansible_collections.multicast.igmp.plugins.filter import querier
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import _systemd, config, options
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers

#: The role's defaults, in the order of querier_setting_keys.
ROLE_DEFAULTS = {"query_interval": 60, "max_response_time": None, "robustness": 2, "timeout": None,
                 "startup_query_count": None, "startup_query_interval": None, "igmp_version": 2,
                 "snooping_timeout": 260, "verbose": False, "mld_version": None}


def values(**changes):
    merged = dict(ROLE_DEFAULTS, **changes)
    return [merged.get(key, options.BY_NAME[key].default) for key in querier.querier_setting_keys("")]


def test_setting_keys_are_the_per_interface_settings():
    assert sorted(querier.querier_setting_keys("")) == sorted(ROLE_DEFAULTS)
    assert querier.querier_setting_keys("igmp_querier_") == ["igmp_querier_" + k for k in querier.querier_setting_keys("")]


def test_defaults_render_the_settings_line_of_before():
    (instance,) = querier.querier_instances(["eth0"], values())
    assert querier.querier_options(instance) == "--query-interval 60 --robustness 2 --igmp-version 2 --snooping-timeout 260"


def test_every_setting_renders_in_the_settings_file_order():
    (instance,) = querier.querier_instances(["br0"], values(
        query_interval="30.5", max_response_time=2.5, robustness="3", timeout=100.0, startup_query_count=4,
        startup_query_interval=2.5, verbose="yes"))
    line = querier.querier_options(instance, "/run/igmp-querier")
    assert line == ("--query-interval 30.5 --robustness 3 --igmp-version 2 --snooping-timeout 260 "
                    "--max-response-time 2.5 --timeout 100 --startup-query-count 4 --startup-query-interval 2.5 "
                    "--verbose --metrics-file /run/igmp-querier/br0/br0.prom")
    parsed = config.parse_args(["--interface", "br0"] + shlex.split(line))
    assert parsed.timers == Timers(query_interval=30.5, max_response_time=2.5, robustness=3, timeout=100.0,
                                   startup_query_count=4, startup_query_interval=2.5)
    assert parsed.verbose and parsed.metrics_file == "/run/igmp-querier/br0/br0.prom"


@pytest.mark.parametrize("off", [None, "", False, "off", "OFF", " off "])
def test_mld_off_in_every_spelling_passes_no_mld_flag(off):
    (instance,) = querier.querier_instances([{"name": "eth0", "mld_version": off}], values())
    assert querier.querier_problems([instance]) == []
    (plain,) = querier.querier_instances(["eth0"], values())
    assert querier.querier_options(instance) == querier.querier_options(plain)
    assert "--mld-version" not in querier.querier_options(instance)
    assert querier.querier_mld(instance) is False


@pytest.mark.parametrize("version", [1, 2, "2"])
def test_mld_on_passes_its_version_to_the_daemon(version):
    (instance,) = querier.querier_instances(["eth0"], values(mld_version=version))
    assert querier.querier_problems([instance]) == []
    line = querier.querier_options(instance)
    (plain,) = querier.querier_instances(["eth0"], values())
    assert line == querier.querier_options(plain).replace("--igmp-version 2", "--igmp-version 2 --mld-version %s" % version)
    assert config.parse_args(["--interface", "eth0"] + shlex.split(line)).timers.mld_version == int(version)
    assert querier.querier_mld(instance) is True


@pytest.mark.parametrize("bad", [3, 0, True, "abc", 1.5, "v2", [2]])
def test_a_bad_mld_version_names_the_variable_and_the_values(bad):
    instances = querier.querier_instances(["eth0", {"name": "br0", "mld_version": bad}], values(mld_version=bad))
    problems = querier.querier_problems(instances)
    assert problems == ["eth0: igmp_querier_mld_version must be off, 1 or 2, got %s" % json.dumps(bad),
                        "br0: igmp_querier_interfaces[br0].mld_version must be off, 1 or 2, got %s" % json.dumps(bad)]


def test_mldv1_keeps_the_daemons_max_response_limit_in_role_terms():
    (instance,) = querier.querier_instances(["eth0"], values(mld_version=1, igmp_version=3, query_interval=125,
                                                             max_response_time=70))
    (problem,) = querier.querier_problems([instance])
    assert problem.startswith("eth0: igmp_querier_max_response_time") and "--" not in problem


def test_an_entry_overrides_the_role_wide_value_and_names_its_own_variable():
    instances = querier.querier_instances(["eth0", {"name": "br0", "query_interval": 20, "verbose": True}], values())
    assert [i["name"] for i in instances] == ["eth0", "br0"]
    assert instances[0]["query_interval"] == 60 and instances[1]["query_interval"] == 20
    assert instances[0]["_var"]["query_interval"] == "igmp_querier_query_interval"
    assert instances[1]["_var"]["query_interval"] == "igmp_querier_interfaces[br0].query_interval"
    assert instances[1]["_var"]["robustness"] == "igmp_querier_robustness"
    assert querier.querier_options(instances[1]).endswith("--verbose")


def test_a_comma_separated_string_is_split():
    assert querier.querier_entries(" eth0, br0 ,,") == ["eth0", "br0"]
    assert querier.querier_entries(None) == [] and querier.querier_entries("") == []
    with pytest.raises(querier.QuerierFilterError, match="igmp_querier_interfaces must be a list"):
        querier.querier_entries(5)


@pytest.mark.parametrize("changes, override, expected", [
    ({"robustness": 0}, {}, "eth0: igmp_querier_robustness must be 1..255, got 0"),
    ({}, {"query_interval": 0}, "eth0: igmp_querier_interfaces[eth0].query_interval must be 1..31744 seconds, got 0"),
    ({"timeout": 60}, {}, "eth0: igmp_querier_timeout must be greater than igmp_querier_query_interval (60 s)"),
    ({"robustness": True}, {}, "eth0: igmp_querier_robustness must be a number, got True"),
    ({}, {"verbose": "maybe"}, 'eth0: igmp_querier_interfaces[eth0].verbose must be true or false, got "maybe".'),
    ({"verbose": "y"}, {}, 'eth0: igmp_querier_verbose must be true or false, got "y".'),
])
def test_problems_name_the_role_variable(changes, override, expected):
    instances = querier.querier_instances([dict(override, name="eth0")], values(**changes))
    (problem,) = querier.querier_problems(instances)
    assert problem.startswith(expected), problem
    assert "--" not in problem


def test_accepted_settings_have_no_problems():
    assert querier.querier_problems(querier.querier_instances(["eth0", "br0"], values(verbose="on"))) == []


def test_hostile_input_is_a_filter_error_not_a_traceback():
    with pytest.raises(querier.QuerierFilterError):
        querier.querier_instances(["eth0"], [1, 2])
    with pytest.raises(querier.QuerierFilterError):
        querier.querier_problems("eth0")
    with pytest.raises(querier.QuerierFilterError, match="igmp_querier_query_interval is not a valid value"):
        querier.querier_options(querier.querier_instances(["eth0"], values(query_interval="abc"))[0])
    with pytest.raises(querier.QuerierFilterError):
        querier.querier_options({"name": None})


@pytest.mark.parametrize("name, ok", [
    ("eth0", True), ("br-lan.10", True), ("eth0:1", True), ("wlp0s20f3", True),
    ("", False), ("a" * 16, False), ("eth/0", False), ("eth 0", False), ("eth\t0", False), (".", False), (None, False),
])
def test_one_interface_name_rule(name, ok):
    assert querier.is_interface_name(name) is ok
    if ok:
        assert config.check(["--interface", name]).interface == name
    elif isinstance(name, str):
        with pytest.raises(config.UsageError, match="--interface must be a Linux interface name"):
            config.check(["--interface", name])


def test_unit_names_and_found_instances_round_trip():
    assert _systemd.unit_name("br-0") == "igmp-querier@br\\x2d0.service"
    assert _systemd.unit_name("eth0") == "igmp-querier@eth0.service"
    found = querier.querier_found_names(
        [{"path": "/etc/igmp-querier/eth0.conf"}],
        [{"path": "/etc/systemd/system/multi-user.target.wants/" + _systemd.unit_name("br-0")}],
        [{"path": "/run/igmp-querier/eth0"}, {"path": "/run/igmp-querier/vlan.5"}, {"nopath": 1}])
    assert found == ["br-0", "eth0", "vlan.5"]


def test_duplicates_are_listed_once_in_order():
    assert querier.querier_duplicates(["b", "a", "b", "a", "b", "c"]) == ["b", "a"]
    assert querier.querier_duplicates(["a"]) == []

"""The querier role, checked without a target host.

- meta/argument_specs.yml and defaults/main.yml declare the same variables, with matching defaults;
- the role's variable checks (tasks/validate.yml) accept exactly what the daemon accepts, and the
  settings file the role renders parses back, with the daemon's own parser, to the timers asked for;
- the rendered unit keeps the hardening it promises and scores what the README says with
  ``systemd-analyze security --offline=true``.

The last two run the role's real tasks and templates with ansible-playbook on localhost (connection
local, nothing is changed outside a temporary directory).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import config

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
ROLE = os.path.join(REPO, "roles", "querier")

#: The exposure systemd 252 computes for the rendered unit. README, "The unit's security", says
#: why 1.5 is the floor for a daemon that keeps the host's network and CAP_NET_RAW honestly.
EXPECTED_EXPOSURE = "1.5"


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


# --- argument spec <-> defaults --------------------------------------------------------------

def test_argument_spec_and_defaults_declare_the_same_variables():
    defaults = load("defaults", "main.yml")
    options = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    assert all(name.startswith("igmp_querier_") for name in defaults)


def test_every_option_is_typed_and_described_and_its_default_matches():
    defaults = load("defaults", "main.yml")
    options = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, spec in options.items():
        assert spec.get("type") in ("str", "int", "float", "bool", "list", "path", "dict", "raw"), name
        assert spec.get("description"), name
        if spec.get("type") == "list":
            assert spec.get("elements"), name
        value = defaults[name]
        templated = isinstance(value, str) and "{{" in value
        if "default" in spec:
            assert not templated, "%s: a computed default is described, not given as default" % name
            assert spec["default"] == value, name
        else:
            assert templated or value is None, "%s: literal default %r missing from the spec" % (name, value)
        if "choices" in spec and not templated and value is not None:
            assert value in spec["choices"], name


def test_tags_and_private_names():
    main = load("tasks", "main.yml")
    tags = set()
    for task in main:
        tags.update(task.get("tags", []))
    assert tags == {"igmp_querier_install", "igmp_querier_configure", "igmp_querier_run"}
    private = load("vars", "main.yml")
    assert all(name.startswith("_igmp_querier_") for name in private)


# --- the role's checks and settings file against the daemon's parser -------------------------

FLAGS = {
    "query_interval": "--query-interval",
    "max_response_time": "--max-response-time",
    "robustness": "--robustness",
    "timeout": "--timeout",
    "startup_query_count": "--startup-query-count",
    "startup_query_interval": "--startup-query-interval",
    "igmp_version": "--igmp-version",
    "snooping_timeout": "--snooping-timeout",
    "mld_version": "--mld-version",
}


def mld_off(value):
    """What the role takes for "no MLD querier" (the daemon runs without --mld-version); 0 is not."""
    return value is None or value is False or value in ("", "off")


DEFAULTS = {"query_interval": 60, "robustness": 2, "igmp_version": 2, "snooping_timeout": 260}

# (role variables, per-interface overrides for "lo" or None for a plain name)
CASES = [
    ({}, None),
    ({"igmp_querier_query_interval": 30.5, "igmp_querier_max_response_time": 2.5, "igmp_querier_robustness": 3,
      "igmp_querier_timeout": 100, "igmp_querier_startup_query_count": 4,
      "igmp_querier_startup_query_interval": 2.5, "igmp_querier_verbose": True}, None),
    ({"igmp_querier_igmp_version": 3, "igmp_querier_query_interval": 125, "igmp_querier_max_response_time": 100}, None),
    ({"igmp_querier_igmp_version": 3, "igmp_querier_query_interval": 4000, "igmp_querier_max_response_time": 3174.4}, None),
    ({"igmp_querier_query_interval": 31744, "igmp_querier_timeout": 31744 * 255}, None),
    ({"igmp_querier_query_interval": "30"}, None),  # as given with -e key=value
    ({}, {"query_interval": 20, "max_response_time": 5.5, "verbose": True}),
    ({"igmp_querier_query_interval": 0}, None),
    ({"igmp_querier_query_interval": 31745}, None),
    ({"igmp_querier_timeout": 60}, None),
    ({"igmp_querier_max_response_time": 25.6}, None),
    ({"igmp_querier_max_response_time": 1.25}, None),
    ({"igmp_querier_query_interval": 10, "igmp_querier_max_response_time": 10}, None),
    ({"igmp_querier_igmp_version": 3, "igmp_querier_query_interval": 4000, "igmp_querier_max_response_time": 3174.5}, None),
    ({"igmp_querier_robustness": 0}, None),
    ({"igmp_querier_robustness": 256}, None),
    ({"igmp_querier_robustness": 2.5}, None),
    ({"igmp_querier_startup_query_count": 0}, None),
    ({"igmp_querier_startup_query_interval": 0.05}, None),
    ({"igmp_querier_startup_query_interval": 61}, None),
    ({"igmp_querier_igmp_version": 4}, None),
    ({}, {"timeout": 10}),
    ({}, {"query_interval": -1}),
    ({"igmp_querier_query_interval": 10}, None),  # the default max response follows: 5 s
    ({"igmp_querier_query_interval": 2, "igmp_querier_timeout": 4.5}, None),
    ({"igmp_querier_snooping_timeout": 125, "igmp_querier_query_interval": 30}, None),
    ({"igmp_querier_snooping_timeout": 60}, None),  # 60 + 10 >= 60
    ({"igmp_querier_timeout": 250}, None),  # above 260 - 10 - 1
    ({"igmp_querier_timeout": 249}, None),
    ({}, {"snooping_timeout": 0}),
    ({"igmp_querier_query_interval": "abc"}, None),
    ({"igmp_querier_robustness": True}, None),
    ({"igmp_querier_igmp_version": 3, "igmp_querier_query_interval": 4000, "igmp_querier_max_response_time": 3174.4,
      "igmp_querier_snooping_timeout": 8000}, None),
    # MLD (IPv6) beside IGMP: off in every spelling, 1 or 2, per interface, and what is refused
    ({"igmp_querier_mld_version": 2}, None),
    ({"igmp_querier_mld_version": 1}, None),
    ({"igmp_querier_mld_version": False}, None),
    ({"igmp_querier_mld_version": "off"}, None),
    ({"igmp_querier_mld_version": "2"}, None),  # as given with -e key=value
    ({}, {"mld_version": 2, "query_interval": 30}),
    ({"igmp_querier_mld_version": 2}, {"mld_version": False}),
    ({"igmp_querier_mld_version": 3}, None),
    ({"igmp_querier_mld_version": True}, None),
    ({}, {"mld_version": "yes"}),
    ({}, {"mld_version": 0}),
    ({"igmp_querier_mld_version": 1, "igmp_querier_igmp_version": 3, "igmp_querier_query_interval": 125,
      "igmp_querier_max_response_time": 70}, None),  # MLDv1 carries at most 65.5 s
    ({"igmp_querier_mld_version": 2, "igmp_querier_igmp_version": 3, "igmp_querier_query_interval": 125,
      "igmp_querier_max_response_time": 70}, None),
]
#: The case whose rendered unit and drop-in the MLD exposure test scores.
MLD_CASE = CASES.index(({"igmp_querier_mld_version": 2}, None))


def settings_of(variables, override):
    merged = dict(DEFAULTS)
    for key in FLAGS:
        if "igmp_querier_" + key in variables:
            merged[key] = variables["igmp_querier_" + key]
    merged.update(override or {})
    return merged


def daemon_verdict(settings):
    """What the daemon says of these settings: a Timers, or None when it refuses them."""
    argv = ["--interface", "lo"]
    for key, flag in FLAGS.items():
        if key == "mld_version" and mld_off(settings.get(key)):
            continue
        if settings.get(key) is not None:
            argv += [flag, str(settings[key])]
    try:
        args = config.build_parser().parse_args(argv)
        return config.validate(args).timers
    except (SystemExit, config.UsageError):
        return None


PLAYBOOK = """
- name: Run the role's variable checks and render its files
  hosts: all
  connection: local
  gather_facts: true
  gather_subset: [network]
  tasks:
    - name: Load the role's defaults and variables, run its checks
      ansible.builtin.include_role:
        name: multicast.igmp.querier
        tasks_from: validate.yml
        public: true
    - name: Render each settings file
      ansible.builtin.template:
        src: "{{ role_dir }}/templates/settings.conf.j2"
        dest: "{{ out_dir }}/{{ inventory_hostname }}-{{ item.name }}.conf"
        mode: "0644"
      loop: "{{ _igmp_querier_instances }}"
    - name: Render the IPv6 drop-in of each instance with MLD on
      ansible.builtin.template:
        src: "{{ role_dir }}/templates/igmp-querier-mld.conf.j2"
        dest: "{{ out_dir }}/{{ inventory_hostname }}-{{ item }}-mld.conf"
        mode: "0644"
      loop: "{{ _igmp_querier_mld_names }}"
    - name: Render the unit
      ansible.builtin.template:
        src: "{{ role_dir }}/templates/igmp-querier@.service.j2"
        dest: "{{ out_dir }}/{{ inventory_hostname }}-igmp-querier@lo.service"
        mode: "0644"
"""


@pytest.fixture(scope="module")
def role_run(run_plays):
    hosts = {}
    for index, (variables, override) in enumerate(CASES):
        host_vars = dict(variables)
        host_vars["igmp_querier_interfaces"] = [dict(override, name="lo")] if override else ["lo"]
        host_vars["ansible_python_interpreter"] = sys.executable
        hosts["case%02d" % index] = host_vars
    return run_plays("querier-role", hosts, [(PLAYBOOK, [])], forks=25)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CASES)))
def test_role_accepts_exactly_what_the_daemon_accepts(role_run, index):
    variables, override = CASES[index]
    host = "case%02d" % index
    expected = daemon_verdict(settings_of(variables, override))
    stats = role_run["stats"][host]
    if expected is None:
        assert stats["failures"] == 1, "the role accepted %r %r, the daemon refuses it" % (variables, override)
        message = role_run["messages"][host]
        named = list(variables) + ["igmp_querier_interfaces[lo].%s" % key for key in (override or {})]
        assert any(name in message for name in named), message
        assert not os.path.exists(str(role_run["out"] / (host + "-lo.conf")))
        return
    assert stats["failures"] == 0, "the role refused %r %r: %s" % (variables, override, role_run["messages"].get(host))
    with open(str(role_run["out"] / (host + "-lo.conf"))) as handle:
        lines = [line for line in handle if not line.startswith("#")]
    assert len(lines) == 1 and lines[0].startswith("IGMP_QUERIER_OPTIONS=")
    options = shlex.split(lines[0].split("=", 1)[1])
    parsed = config.parse_args(["--interface", "lo"] + options)
    assert parsed.timers == expected
    verbose = (override or {}).get("verbose", variables.get("igmp_querier_verbose", False))
    assert parsed.verbose == verbose
    # AF_INET6 only where MLD runs: the drop-in exists exactly for those instances
    dropin = role_run["out"] / (host + "-lo-mld.conf")
    assert os.path.exists(str(dropin)) == (expected.mld_version is not None), host
    if expected.mld_version is not None:
        assert re.findall(r"^RestrictAddressFamilies=.*$", dropin.read_text(), re.M) == ["RestrictAddressFamilies=AF_INET6"]


@pytest.mark.slow
def test_rendered_unit_keeps_its_hardening(role_run):
    with open(str(role_run["out"] / "case00-igmp-querier@lo.service")) as handle:
        unit = handle.read()
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
    assert unit.startswith("#")  # ansible_managed
    for key, value in {
        "DynamicUser": "yes", "CapabilityBoundingSet": "CAP_NET_RAW", "AmbientCapabilities": "CAP_NET_RAW",
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectProc": "invisible", "ProcSubset": "pid",
        "RuntimeDirectory": "igmp-querier/%I", "RestartPreventExitStatus": "2 77", "Restart": "on-failure",
        "RestrictAddressFamilies": "AF_INET AF_PACKET AF_NETLINK", "SystemCallArchitectures": "native",
        "MemoryDenyWriteExecute": "yes", "RestrictNamespaces": "yes",
    }.items():
        assert settings.get(key) == value, key
    # Scores bought by cutting the daemon off the LAN are not allowed.
    # The IP allow list may only admit multicast: every datagram the daemon's AF_INET socket sends
    # goes to a multicast address; anything wider would be a score bought without a reason.
    assert settings.get("IPAddressDeny") == "any", settings.get("IPAddressDeny")
    assert settings.get("IPAddressAllow") == "multicast", settings.get("IPAddressAllow")
    for forbidden in ("PrivateNetwork", "NetworkNamespacePath", "PrivateUsers"):
        assert forbidden not in settings, forbidden
    assert "--interface %I --state-dir %t/igmp-querier/%I $IGMP_QUERIER_OPTIONS" in settings["ExecStart"]
    assert settings.get("ExecReload") == "/bin/kill -HUP $MAINPID"  # systemctl reload: SIGHUP, no restart
    # No device units without udev (containers); none here unless this machine runs udev.
    assert ("sys-subsystem-net-devices-%i.device" in unit) == os.path.exists("/run/udev/control")


def exposure(analyze, unit_text, scratch):
    """``systemd-analyze security --offline=true`` of a unit's text: (exposure, full output)."""
    scratch.mkdir(exist_ok=True)
    target = scratch / "igmp-querier@lo.service"
    target.write_text(unit_text)
    proc = subprocess.run([analyze, "security", "--offline=true", "--no-pager", str(target)], check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    return match.group(1), proc.stdout


@pytest.mark.slow
def test_rendered_unit_security_exposure(role_run):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed")
    level, output = exposure(analyze, (role_run["out"] / "case00-igmp-querier@lo.service").read_text(),
                             role_run["out"] / "analyze")
    assert level == EXPECTED_EXPOSURE, output
    assert "AF_INET6" not in (role_run["out"] / "case00-igmp-querier@lo.service").read_text().split("[Service]")[1] \
        .split("RestrictAddressFamilies=")[1].splitlines()[0]


@pytest.mark.slow
def test_rendered_unit_with_mld_allows_ipv6_and_keeps_its_exposure(role_run):
    """The unit plus the MLD drop-in (systemd adds the drop-in's RestrictAddressFamilies= to the
    unit's list): AF_INET6 is allowed, and the exposure stays at the IPv4-only figure."""
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed")
    host = "case%02d" % MLD_CASE
    unit = (role_run["out"] / (host + "-igmp-querier@lo.service")).read_text()
    dropin = (role_run["out"] / (host + "-lo-mld.conf")).read_text()
    assert dropin.split("[Service]", 1)[1].split() == ["RestrictAddressFamilies=AF_INET6"]
    combined = unit.replace("\n[Install]\n", "\n" + dropin.split("[Service]", 1)[1].strip() + "\n\n[Install]\n")
    level, output = exposure(analyze, combined, role_run["out"] / "analyze-mld")
    assert float(level) <= float(EXPECTED_EXPOSURE), output
    assert re.search(r"RestrictAddressFamilies=~AF_\(INET\|INET6\)\s", output), output  # the internet-socket item

"""The querier role's operations parts, run with ansible-playbook on localhost (nothing changes
outside a temporary directory): metrics variables and their checks, the --metrics-file flag in
the settings file, SyslogIdentifier in the unit, the on-host command (the zipapp built and run for real),
and check mode on a fresh host reporting the start/enable step as a change."""

import json
import os
import shlex
import subprocess
import sys

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import config
from test_querier_role import PLAYBOOK as BASE_PLAYBOOK
from test_querier_role import load

PLAYBOOK = BASE_PLAYBOOK + """
    - name: Build the daemon's zipapp as the role ships it, and copy it
      ansible.builtin.copy:
        src: "{{ lookup('multicast.igmp.querier_zipapp', *_igmp_querier_source_files, interpreter=_igmp_querier_python) }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}-igmp-querier"
        mode: "0755"
      vars:
        role_path: "{{ role_dir }}"  # the role's variables name the files from the role's path
"""

CHECK_PLAYBOOK = """
- name: Check mode on a fresh host (no unit installed yet)
  hosts: metrics_on
  connection: local
  gather_facts: false
  tasks:
    - name: The role's run step
      ansible.builtin.include_role:
        name: multicast.igmp.querier
        tasks_from: run.yml
      vars:
        __igmp_querier_preflight: {files: []}
"""

CASES = {
    "metrics_on": {"igmp_querier_metrics": True},
    "metrics_off": {},
    "metrics_dir": {"igmp_querier_metrics": True, "igmp_querier_metrics_dir": "/srv/textfile"},
    "bad_metrics": {"igmp_querier_metrics": "maybe"},
    "relative_dir": {"igmp_querier_metrics": True, "igmp_querier_metrics_dir": "textfile"},
    "dotdot_dir": {"igmp_querier_metrics": True, "igmp_querier_metrics_dir": "/var/lib/../../etc"},
    "space_dir": {"igmp_querier_metrics": True, "igmp_querier_metrics_dir": "/var/lib/a b"},
}
REFUSED = ("bad_metrics", "relative_dir", "dotdot_dir", "space_dir")


@pytest.fixture(scope="module")
def run(run_plays):
    hosts = {}
    for name, variables in CASES.items():
        hosts[name] = dict(variables, igmp_querier_interfaces=["lo"], ansible_python_interpreter=sys.executable)
    return run_plays("querier-role-ops", hosts, [(PLAYBOOK, []), (CHECK_PLAYBOOK, ["--check"])])


def options(run, host):
    with open(str(run["out"] / (host + "-lo.conf"))) as handle:
        line = [text for text in handle if not text.startswith("#")][0]
    return shlex.split(line.split("=", 1)[1])


def test_metrics_variables_are_declared_with_their_defaults():
    defaults = load("defaults", "main.yml")
    specs = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert defaults["igmp_querier_metrics"] is False
    assert defaults["igmp_querier_metrics_dir"] == "/var/lib/prometheus/node-exporter"
    assert specs["igmp_querier_metrics"]["type"] == "bool" and specs["igmp_querier_metrics"]["default"] is False
    assert specs["igmp_querier_metrics_dir"]["default"] == "/var/lib/prometheus/node-exporter"


def test_metrics_on_passes_the_runtime_metrics_file_to_the_daemon(run):
    assert run["stats"]["metrics_on"]["failures"] == 0, run["messages"].get("metrics_on")
    parsed = config.parse_args(["--interface", "lo"] + options(run, "metrics_on"))
    assert parsed.metrics_file == "/run/igmp-querier/lo/lo.prom"
    assert config.parse_args(["--interface", "lo"] + options(run, "metrics_dir")).metrics_file == \
        "/run/igmp-querier/lo/lo.prom"


def test_metrics_off_passes_no_metrics_file(run):
    assert run["stats"]["metrics_off"]["failures"] == 0
    assert "--metrics-file" not in options(run, "metrics_off")


@pytest.mark.parametrize("host", REFUSED)
def test_bad_metrics_settings_are_refused_naming_the_variable(run, host):
    assert run["stats"][host]["failures"] == 1
    message = run["messages"][host]
    bad = CASES[host].get("igmp_querier_metrics_dir", CASES[host]["igmp_querier_metrics"])
    assert "igmp_querier_metrics" in message and json.dumps(bad) in message


def test_the_unit_names_its_journal_identifier(run):
    with open(str(run["out"] / "metrics_on-igmp-querier@lo.service")) as handle:
        lines = handle.read().splitlines()
    assert "SyslogIdentifier=igmp-querier" in lines
    assert not any(line.startswith("ReadWritePaths=") for line in lines)  # the sandbox is unchanged


def test_the_installed_command_runs_status_and_writes_no_bytecode(run, tmp_path):
    """The zipapp the role ships is the command: run by its #! line, it answers --help and status."""
    command = str(run["out"] / "metrics_on-igmp-querier")
    with open(command, "rb") as handle:
        assert handle.readline() == b"#!" + load("vars", "main.yml")["_igmp_querier_python"].encode() + b"\n"
    helped = subprocess.run([command, "--help"], capture_output=True, text=True, check=False, timeout=30,
                            cwd=str(tmp_path))
    assert helped.returncode == 0 and "igmp-querier status [IFACE] [--json]" in helped.stdout
    ran = subprocess.run([command, "status", "--state-dir", str(tmp_path)], capture_output=True, text=True,
                         check=False, timeout=30, cwd=str(tmp_path))
    assert ran.returncode == 3 and ran.stdout.startswith("no igmp-querier instance on this host")
    assert os.listdir(str(tmp_path)) == []  # nothing written beside it (zipimport writes no bytecode)
    # Every host gets the same bytes: the copy to the second host matched the first.
    with open(str(run["out"] / "metrics_off-igmp-querier"), "rb") as first, open(command, "rb") as second:
        assert first.read() == second.read()


def test_check_mode_on_a_fresh_host_reports_the_start_as_a_change(run):
    steps = {name.split(" : ")[-1]: result for name, result in run["tasks"]["metrics_on"]}
    start = steps["Start and enable the querier instances (check mode, unit not installed yet)"]
    assert start.get("changed") is True and "igmp-querier@lo.service" in start["msg"]
    assert steps["Start and enable the querier instances"].get("skipped") is True

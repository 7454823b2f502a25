# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The querier role's package step (tasks/packages.yml) against this machine's real dpkg.

The step asks dpkg-query whether the packages are installed and runs the package module only
when one is missing (the module loads apt's cache: seconds per host on every run). Run in check
mode on localhost, so nothing is installed: a package this machine has skips the package module;
a missing one, or a name that looks like an option, runs it.
"""

import shutil
import sys

import pytest

PLAYBOOK = """
- name: The role's package step
  hosts: all
  connection: local
  gather_facts: false
  tasks:
    - name: Pose as a Debian host (the step needs only the OS family)
      ansible.builtin.set_fact:
        os_family: Debian
        cacheable: true
    - name: Run the package step
      ansible.builtin.include_role:
        name: multicast.igmp.querier
        tasks_from: packages.yml
"""

QUERY = "multicast.igmp.querier : Ask the package manager whether the daemon's OS packages are installed"
INSTALL = "multicast.igmp.querier : Install the OS packages the daemon needs"

CASES = {
    "present": ["python3"],  # a Debian machine running these tests has it
    "missing": ["python3", "multicast-igmp-no-such-package"],
    "option": ["--version"],
}

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-query"), reason="needs dpkg-query (a Debian machine)")


@pytest.fixture(scope="module")
def run(run_plays):
    hosts = {name: {"igmp_querier_os_packages": packages, "ansible_python_interpreter": sys.executable}
             for name, packages in CASES.items()}
    return run_plays("querier-role-packages", hosts, [(PLAYBOOK, ["--check"])])


def result(run, host, task):
    return dict(run["tasks"][host])[task]


def test_an_installed_package_skips_the_package_module(run):
    query = result(run, "present", QUERY)
    assert query["rc"] == 0 and query["stdout_lines"] == ["installed"], query
    assert query["cmd"][-2:] == ["--", "python3"]
    assert result(run, "present", INSTALL).get("skipped") is True


def test_a_missing_package_runs_the_package_module(run):
    query = result(run, "missing", QUERY)
    assert query["rc"] != 0 and "multicast-igmp-no-such-package" in query["stderr"], query
    assert not result(run, "missing", INSTALL).get("skipped")


def test_a_package_name_that_looks_like_an_option_is_asked_about_as_a_name(run):
    query = result(run, "option", QUERY)
    assert query["rc"] != 0 and "--version" in query["stderr"] and "Debian" not in query["stdout"], query
    assert not result(run, "option", INSTALL).get("skipped")

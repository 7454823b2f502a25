# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The querier role's preflight on hosts it supports and hosts it does not.

The role's real preflight tasks run with ansible-playbook on localhost; each inventory host first
poses, through cacheable facts, as a host of one OS family and service manager (no image of an
unknown OS can be booted here). A host the role does not know fails with a message that names the
supported families, and nothing after the check runs.
"""

import os
import sys

import pytest
import yaml

PLAYBOOK = """
- name: Run the role's preflight on hosts posing as other systems
  hosts: all
  connection: local
  gather_facts: false
  tasks:
    - name: Pose as the case's host
      ansible.builtin.set_fact:
        service_mgr: "{{ case_service_mgr }}"
        os_family: "{{ case_os_family }}"
        distribution: "{{ case_distribution }}"
        interfaces: [lo]  # with these three present the role gathers no facts of its own
        cacheable: true
    - name: Run the role's preflight
      ansible.builtin.include_role:
        name: multicast.igmp.querier
        tasks_from: preflight.yml
"""

OS_CHECK = "multicast.igmp.querier : Check the operating system family is supported"
SYSTEMD_CHECK = "multicast.igmp.querier : Check the host runs systemd"

#: host -> (OS family, distribution, service manager)
CASES = {
    "debian": ("Debian", "Debian", "systemd"),
    "redhat": ("RedHat", "RedHat", "systemd"),
    "plan9": ("Plan9", "Plan9", "systemd"),
    "gentoo": ("Gentoo", "Gentoo", "systemd"),
    "openrc": ("Debian", "Devuan", "openrc"),
}


@pytest.fixture(scope="module")
def preflight(run_plays):
    hosts = {}
    for host, (family, distribution, manager) in CASES.items():
        hosts[host] = {"case_os_family": family, "case_distribution": distribution, "case_service_mgr": manager,
                       "igmp_querier_interfaces": ["lo"], "ansible_python_interpreter": sys.executable}
    return run_plays("querier-platforms", hosts, [(PLAYBOOK, [])])


def _result(run, host, task):
    found = [result for name, result in run["tasks"].get(host, []) if name == task]
    assert found, "%s: no %r task ran: %s" % (host, task, [entry[0] for entry in run["tasks"].get(host, [])])
    return found[0]


def _supported_families():
    path = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "roles", "querier", "vars", "main.yml")
    with open(path) as handle:
        return list(yaml.safe_load(handle)["_igmp_querier_os_packages"])


@pytest.mark.slow
@pytest.mark.parametrize("host", ["plan9", "gentoo"])
def test_an_unknown_os_family_is_refused_with_a_clear_message(preflight, host):
    family = CASES[host][0]
    result = _result(preflight, host, OS_CHECK)
    assert result.get("failed"), "the role accepted the %s OS family" % family
    message = preflight["messages"][host]
    assert message == (
        "multicast.igmp.querier supports the %s OS families; %s is %s (%s family)."
        % (" and ".join(_supported_families()), host, family, family)), message
    assert preflight["stats"][host]["failures"] == 1
    # The refusal comes before the interface checks and any change.
    names = [entry[0] for entry in preflight["tasks"][host]]
    assert names[-1] == OS_CHECK, names


@pytest.mark.slow
@pytest.mark.parametrize("host", ["debian", "redhat"])
def test_a_known_os_family_passes_the_check(preflight, host):
    assert _supported_families() == ["Debian", "RedHat"]
    result = _result(preflight, host, OS_CHECK)
    assert not result.get("failed"), result


@pytest.mark.slow
def test_a_host_without_systemd_is_refused(preflight):
    result = _result(preflight, "openrc", SYSTEMD_CHECK)
    assert result.get("failed")
    message = preflight["messages"]["openrc"]
    assert "runs the querier as systemd units" in message and "service manager is openrc" in message, message

# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The querier role on a real host: a systemd container from the base image.

The host starts with what role versions before 0.2.0 left (the package copied file by file into
``/usr/local/lib/igmp-querier/igmp_querier``, a shell wrapper as the command, a unit running
``python3 -m igmp_querier``, an instance running) plus an IPv6 drop-in of an instance whose MLD
was turned off. The role then:

- upgrades it: the old package directory and the drop-in go, the daemon is restarted and runs the
  zipapp, ``igmp-querier status`` works through the command's link;
- changes nothing on a second run;
- with a second interface (one end of a veth pair, dummy0) runs a second instance, and with that interface taken out
  of the list again stops and disables it and removes its settings file and metrics link;
- with ``igmp_querier_state: absent`` leaves nothing of the querier on the host.

Skipped without root, Docker or the base image (scripts/bootstrap builds it).
"""

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
PACKAGE = os.path.join(REPO, "plugins", "module_utils", "igmp_querier")
IMAGE = "multicast-igmp/debian12-systemd:latest"
UNIT = "igmp-querier@eth0.service"
INSTALL = "/usr/local/lib/igmp-querier"
DROPIN_DIR = "/etc/systemd/system/igmp-querier@eth0.service.d"

OLD_WRAPPER = """#!/bin/sh
PYTHONPATH=/usr/local/lib/igmp-querier PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 -m igmp_querier "$@"
"""
# The parts of the old unit that matter here: how it ran the daemon, and its address families (the
# drop-in below adds AF_INET6 to them; a drop-in alone would leave AF_INET6 only, and the daemon
# could not open its IGMP socket).
OLD_UNIT = """[Unit]
Description=IGMP querier on %I
[Service]
EnvironmentFile=/etc/igmp-querier/%I.conf
Environment=PYTHONPATH=/usr/local/lib/igmp-querier PYTHONDONTWRITEBYTECODE=1
WorkingDirectory=/usr/local/lib/igmp-querier
ExecStart=/usr/bin/python3 -m igmp_querier --interface %I --state-dir %t/igmp-querier/%I $IGMP_QUERIER_OPTIONS
RuntimeDirectory=igmp-querier/%I
DynamicUser=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_NETLINK
AmbientCapabilities=CAP_NET_RAW
CapabilityBoundingSet=CAP_NET_RAW
[Install]
WantedBy=multi-user.target
"""
OLD_DROPIN = "[Service]\nRestrictAddressFamilies=AF_INET6\n"

ROLE_PLAY = """
- name: The querier role
  hosts: all
  gather_facts: true
  tasks:
    - name: Run the role
      ansible.builtin.include_role:
        name: multicast.igmp.querier
"""

#: Paths of the querier on a host; none may be left after igmp_querier_state absent.
OURS = [INSTALL, "/usr/local/bin/igmp-querier", "/etc/igmp-querier", "/etc/systemd/system/igmp-querier@.service",
        DROPIN_DIR, "/etc/systemd/system/multi-user.target.wants/" + UNIT, "/run/igmp-querier",
        "/var/lib/prometheus/node-exporter/igmp-querier-eth0.prom"]


def unavailable():
    if os.geteuid() != 0:
        return "needs root (Docker)"
    if not shutil.which("docker"):
        return "docker is not installed"
    if subprocess.run(["docker", "image", "inspect", IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      check=False).returncode != 0:
        return "no %s image (scripts/bootstrap builds it)" % IMAGE
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))]


def sh(name, script, check=True):
    done = subprocess.run(["docker", "exec", name, "sh", "-c", script], capture_output=True, text=True,
                          check=False, timeout=120)
    if check:
        assert done.returncode == 0, "%s: %s%s" % (script, done.stdout, done.stderr)
    return done


def wait_for(what, probe, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(1)


@pytest.fixture(scope="module")
def host():
    name = "igmp-role-upgrade-%s" % uuid.uuid4().hex[:8]
    subprocess.run(["docker", "run", "-d", "--name", name, "--hostname", name, "--label", "multicast-igmp=role-test",
                    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined", "--cgroupns", "host",
                    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
                    IMAGE, "/lib/systemd/systemd"], check=True, stdout=subprocess.DEVNULL, timeout=120)
    try:
        wait_for("systemd to boot", lambda: sh(name, "systemctl is-system-running", check=False).stdout.strip()
                 in ("running", "degraded"), timeout=120)
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False, timeout=120)


def main_pid(name):
    return int(sh(name, "systemctl show -p MainPID --value " + UNIT).stdout.strip() or 0)


@pytest.fixture(scope="module")
def old_host(host):
    """The host as role versions before 0.2.0 left it, the old daemon running."""
    sh(host, "mkdir -p %s/igmp_querier /etc/igmp-querier %s" % (INSTALL, DROPIN_DIR))
    for file in sorted(os.listdir(PACKAGE)) + ["__main__.py"]:
        if file.endswith(".py"):
            source = os.path.join(REPO, "roles", "querier", "files", file) if file == "__main__.py" else \
                os.path.join(PACKAGE, file)
            subprocess.run(["docker", "cp", source, "%s:%s/igmp_querier/%s" % (host, INSTALL, file)], check=True,
                           timeout=60)
    sh(host, "cat > /usr/local/bin/igmp-querier <<'EOF'\n%sEOF\nchmod 755 /usr/local/bin/igmp-querier" % OLD_WRAPPER)
    sh(host, "cat > /etc/systemd/system/igmp-querier@.service <<'EOF'\n%sEOF\n" % OLD_UNIT)
    sh(host, "cat > %s/igmp-querier-mld.conf <<'EOF'\n%sEOF\n" % (DROPIN_DIR, OLD_DROPIN))
    sh(host, "echo 'IGMP_QUERIER_OPTIONS=--query-interval 5' > /etc/igmp-querier/eth0.conf")
    sh(host, "systemctl daemon-reload && systemctl enable --now " + UNIT)
    pid = running(host, "-m igmp_querier", "the old daemon")
    return host, pid


def running(name, marker, what):
    """The unit's main PID once its command line holds ``marker`` (a restart may change the PID)."""
    def probe():
        pid = main_pid(name)
        return pid if pid and marker in cmdline(name, pid) else None
    try:
        return wait_for(what, probe, timeout=180)
    except AssertionError as err:
        journal = sh(name, "systemctl status --no-pager %s; journalctl --no-pager -n 40 -u %s" % (UNIT, UNIT), check=False)
        raise AssertionError("%s\n%s%s" % (err, journal.stdout, journal.stderr)) from None


def cmdline(name, pid):
    """The process's command line ("(python3)" while systemd still sets it up)."""
    return sh(name, "tr '\\0' ' ' < /proc/%d/cmdline" % pid, check=False).stdout


@pytest.fixture(scope="module")
def runs(old_host, run_plays):
    name, old_pid = old_host
    variables = {"ansible_connection": "community.docker.docker", "ansible_host": name,
                 "ansible_python_interpreter": "/usr/bin/python3", "igmp_querier_interfaces": ["eth0"],
                 "igmp_querier_query_interval": 5, "igmp_querier_metrics": True}
    absent = json.dumps({"igmp_querier_state": "absent"})
    result = {}
    two = json.dumps({"igmp_querier_interfaces": ["eth0", "dummy0"]})
    for step, extra in (("upgrade", []), ("again", []), ("two", ["-e", two]), ("one", []), ("absent", ["-e", absent])):
        if step == "two":
            sh(name, "ip link add dummy0 type veth peer name dummy1 && ip addr add 10.254.0.1/24 dev dummy0 && ip link set dummy1 up && ip link set dummy0 up")
        result[step] = run_plays("querier-role-upgrade-" + step, {name: variables}, [(ROLE_PLAY, extra)])
        assert result[step]["stats"][name]["failures"] == 0, result[step]["messages"]
        if step == "upgrade":
            result["after_upgrade"] = snapshot(name)
        if step in ("two", "one"):
            result["after_" + step] = instance_files(name, "dummy0")
    return dict(result, name=name, old_pid=old_pid)


def instance_files(name, interface):
    """What the host has of one instance: unit state, enablement, settings file, metrics link."""
    unit = "igmp-querier@%s.service" % interface
    if sh(name, "systemctl is-active %s" % unit, check=False).stdout.strip() == "activating":
        wait_for(unit + " to start", lambda: sh(name, "systemctl is-active " + unit, check=False).stdout.strip()
                 != "activating")
    return {
        "active": sh(name, "systemctl is-active " + unit, check=False).stdout.strip(),
        "enabled": sh(name, "systemctl is-enabled " + unit, check=False).stdout.strip(),
        "settings": sh(name, "test -e /etc/igmp-querier/%s.conf" % interface, check=False).returncode == 0,
        "metrics_link": sh(name, "test -L /var/lib/prometheus/node-exporter/igmp-querier-%s.prom" % interface,
                           check=False).returncode == 0,
    }


def status_of(name):
    """``igmp-querier status`` on the host when it gave a verdict (exit 0 or 1), else None."""
    done = sh(name, "igmp-querier status", check=False)
    return done if done.returncode in (0, 1) else None


def snapshot(name):
    pid = running(name, "igmp-querier --interface", "the new daemon")
    # 0 ok or 1 warning (other queriers may share Docker's default bridge): the command runs.
    status = wait_for("igmp-querier status", lambda: status_of(name), timeout=60)
    wait_for("the new daemon's command line", lambda: "igmp-querier --interface" in cmdline(name, pid))
    return {
        "pid": pid,
        "cmdline": cmdline(name, pid),
        "status": status.stdout,
        "link": sh(name, "readlink /usr/local/bin/igmp-querier", check=False).stdout.strip(),
        "install": sorted(sh(name, "ls -A " + INSTALL).stdout.split()),
        "dropin_dir": sh(name, "test -e " + DROPIN_DIR, check=False).returncode == 0,
        "active": sh(name, "systemctl is-active " + UNIT, check=False).stdout.strip(),
        "enabled": sh(name, "systemctl is-enabled " + UNIT, check=False).stdout.strip(),
    }


def test_upgrade_replaces_the_package_directory_with_the_zipapp_and_restarts(runs):
    after = runs["after_upgrade"]
    assert after["install"] == ["igmp-querier"], after["install"]  # the old igmp_querier/ is gone
    assert after["link"] == INSTALL + "/igmp-querier"
    assert after["pid"] != runs["old_pid"], "the daemon was not restarted"
    assert "/usr/bin/python3 %s/igmp-querier --interface eth0 " % INSTALL in after["cmdline"], after["cmdline"]
    assert after["active"] == "active" and after["enabled"] == "enabled"
    assert after["status"].startswith("eth0: "), after["status"]  # the command, through its link
    assert not after["dropin_dir"], "the drop-in of an instance without MLD (and its directory) should be gone"


def test_a_second_run_changes_nothing(runs):
    assert runs["again"]["stats"][runs["name"]]["changed"] == 0, [
        name for name, result in runs["again"]["tasks"][runs["name"]] if result.get("changed")]


def test_an_interface_taken_out_of_the_list_loses_its_instance(runs):
    assert runs["after_two"] == {"active": "active", "enabled": "enabled", "settings": True, "metrics_link": True}, \
        runs["after_two"]
    assert runs["after_one"] == {"active": "inactive", "enabled": "disabled", "settings": False,
                                 "metrics_link": False}, runs["after_one"]
    removed = [task for task, result in runs["one"]["tasks"][runs["name"]] if result.get("changed")]
    assert "multicast.igmp.querier : Stop and disable instances of interfaces no longer listed" in removed, removed


def test_absent_leaves_nothing_of_the_querier(runs):
    name = runs["name"]
    left = [path for path in OURS if sh(name, "test -e %s -o -L %s" % (path, path), check=False).returncode == 0]
    assert left == [], left
    units = sh(name, "systemctl list-units --all --no-legend 'igmp-querier@*'").stdout.strip()
    assert units == "", units
    assert sh(name, "command -v igmp-querier", check=False).returncode != 0

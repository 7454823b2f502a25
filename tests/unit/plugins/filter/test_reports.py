"""The playbooks' report filters (plugins/filter/reports.py): on real module results, and the
status and probe playbooks run for real on localhost (connection local, traffic on lo)."""

import json
import os
import re
import subprocess
import sys
import time

import pytest
import yaml

from ansible_collections.multicast.igmp.plugins.filter.reports import (
    FilterModule, probe_table, querier_settled, status_lines)
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, election, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.modules import igmp_status

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
NEEDS_ANSIBLE = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not next to this Python")
A, B = "10.0.0.9", "10.0.0.10"
ACTIVE = {"name": "igmp-querier@eth0.service", "load_state": "loaded", "active_state": "active",
          "sub_state": "running", "unit_file_state": "enabled"}


def entry(address, up, lower=None, startup_interval=2.5, active=True):
    """igmp_status's report of an instance up for ``up`` seconds (non-querier when it heard ``lower``)."""
    q = election.Querier(Timers(query_interval=10.0, max_response_time=1.0,
                                startup_query_interval=startup_interval), address)
    q.start(1000.0 - up)
    q.record_sent(1000.0 - up)
    if lower:
        q.handle(lower, codec.Query(2, 10, codec.ANY), 999.5)
    now = time.time()
    doc = state.validate(state.build(q, interface="eth0", address=address, link="up", pid=os.getpid(),
                                     version="0.1.0", started=now - up, malformed=0, now_mono=1000.0, now_wall=now))
    return igmp_status.report("eth0", now, document=doc, state_file="/x", unit=ACTIVE if active else None,
                              systemd_available=True)


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"probe_table", "status_lines", "querier_settled"}


def test_a_querier_settles_after_its_startup_query_interval():
    assert querier_settled({"interfaces": {"eth0": entry(A, up=1.0)}}) is False  # 1 s < 2.5 + 2
    assert querier_settled({"interfaces": {"eth0": entry(A, up=5.0)}}) is True
    # a non-querier has already heard a lower address: nothing left to wait for
    assert querier_settled({"interfaces": {"eth0": entry(B, up=1.0, lower=A)}}) is True
    # the longest startup interval counts, and the wait never exceeds 50 s
    slow = {"interfaces": {"eth0": entry(A, up=20.0), "eth1": entry(A, up=20.0, startup_interval=30.0)}}
    assert querier_settled(slow) is False
    assert querier_settled({"interfaces": {"eth0": entry(A, up=51.0, startup_interval=100.0)}}) is True
    # what systemd does not report running does not hold the playbook
    assert querier_settled({"interfaces": {"eth0": entry(A, up=1.0, active=False)}}) is True


def test_a_running_unit_without_a_state_file_has_not_settled():
    waiting = igmp_status.report("eth0", time.time(), unit=ACTIVE, systemd_available=True)
    assert waiting["role"] is None and waiting["active"] is True
    assert querier_settled({"interfaces": {"eth0": waiting}}) is False
    assert querier_settled({"interfaces": {}}) is True


@pytest.mark.parametrize("hostile", [None, "x", {"interfaces": None}, {"failed": True}])
def test_settled_is_false_for_what_is_not_a_status_result(hostile):
    assert querier_settled(hostile) is False
    assert querier_settled({"interfaces": {"eth0": None, "eth1": {"active": True, "role": "querier",
                                                                  "uptime": "soon", "timers": "x"}}}) is True


def test_probe_table_rows():
    hostvars = {
        "rx1": {"__probe_received": {"received": 20, "expected": 20, "loss_percent": 0.0, "sources": ["127.0.0.1"]}},
        "rx2": {"__probe_received": {"received": 0, "expected": 20, "loss_percent": None, "sources": []}},
        "rx3": {"__probe_received": {"failed": True, "msg": "interface 'nosuch0' does not exist"}},
        "rx4": {},
        "rx5": {"__probe_received": {"received": "x", "expected": [], "sources": "a"}},
    }
    assert probe_table(["rx1", "rx2", "rx3", "rx4", "rx5", "gone"], hostvars) == [
        "receiver                 received/expected   loss %  sources",
        "rx1                                  20/20      0.0  127.0.0.1",
        "rx2                                   0/20        -  -",
        "rx3                                      -        -  FAILED: interface 'nosuch0' does not exist",
        "rx4                                      -        -  FAILED: no result",
        "rx5                                      -        -  FAILED: no result",
        "gone                                     -        -  FAILED: no result",
    ]
    assert probe_table(None, None) == ["receiver                 received/expected   loss %  sources"]


def test_status_lines():
    hostvars = {"q9": {"__igmp_status": {"msg": "eth0: querier 10.0.0.9 (us)\neth1: no querier installed"}},
                "q10": {"__igmp_status": {"msg": 5}}, "q11": {}}
    assert status_lines(["q9", "q10", "q11", "gone"], hostvars) == [
        "q9: eth0: querier 10.0.0.9 (us)", "q9: eth1: no querier installed",
        "q10: no result", "q11: no result", "gone: no result"]


def run_playbook(tmp_path, name, inventory, extra=None):
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    link = tmp_path / "collections" / "ansible_collections" / "multicast"
    link.mkdir(parents=True)
    os.symlink(REPO, str(link / "igmp"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_ASYNC_DIR=str(tmp_path / "async"),
               ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_INJECT_FACT_VARS="False", ANSIBLE_STDOUT_CALLBACK="default")
    argv = [PLAYBOOK, "-i", str(tmp_path / "inventory.yml"), os.path.join(REPO, "playbooks", name)]
    if extra:
        argv += ["-e", json.dumps(extra)]
    return subprocess.run(argv, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False)


def local(**hostvars):
    return dict(hostvars, ansible_connection="local", ansible_python_interpreter=sys.executable)


@NEEDS_ANSIBLE
def test_status_playbook_prints_every_hosts_lines_together(tmp_path):
    states = tmp_path / "q9-state"
    states.mkdir()
    q = election.Querier(Timers(query_interval=10.0, max_response_time=1.0), "127.0.0.9")
    q.start(995.0)
    q.record_sent(995.0)
    now = time.time()
    state.write(state.state_path(str(states), "lo"), state.build(
        q, interface="lo", address="127.0.0.9", link="up", pid=os.getpid(), version="0.1.0", started=now - 5,
        malformed=0, now_mono=1000.0, now_wall=now))
    empty = tmp_path / "q10-state"
    empty.mkdir()
    proc = run_playbook(tmp_path, "status.yml", {"all": {"hosts": {
        "q9": local(igmp_status_state_dir=str(states)), "q10": local(igmp_status_state_dir=str(empty))}}})
    together = proc.stdout[proc.stdout.index("Print every host's lines together"):]
    assert '"q9: lo: querier 127.0.0.9 (us), 1 sent, 0 groups"' in together, proc.stdout[-3000:]
    assert '"q10: no igmp-querier instance on this host (no state file in %s, no igmp-querier@*.service unit)"' % empty \
        in together


@NEEDS_ANSIBLE
def test_probe_playbook_tables_each_receiver_then_fails_on_the_one_that_failed(tmp_path):
    # A receiver stops at the last probe, so a long window (probe_duration) costs nothing when all
    # arrive, and holds a sender that a loaded machine starts late (8 s did not, in a full CI run).
    group, port = "239.255.%d.77" % (os.getpid() % 250), 20000 + os.getpid() % 40000
    proc = run_playbook(tmp_path, "probe.yml", {"all": {
        "hosts": {"localhost": local()},
        "children": {"probe_receivers": {"hosts": {"rx1": local(probe_interface="lo"),
                                                   "rx2": local(probe_interface="nosuch0")}},
                     "probe_sender": {"hosts": {"tx": local(probe_interface="lo")}}}}},
        extra={"probe_group": group, "probe_port": port, "probe_count": 20,
               "probe_interval": 0.01, "probe_settle": 1, "probe_duration": 60})
    table = proc.stdout[proc.stdout.index("Print the table"):]
    assert '"receiver                 received/expected   loss %  sources"' in table, proc.stdout[-3000:]
    assert re.search(r'"rx1 {34}20/20 {6}0[.]0  [0-9.]+"', table), table[:3000]  # from lo's address
    assert '"rx2                                      -        -  FAILED: ' in table
    assert "nosuch0" in table[:table.index("Check the loss")]
    assert proc.returncode == 2
    assert "rx2: " in table[table.index("Check the loss"):]

"""The fleet verdict (plugins/filter/querier_fleet.py) on real igmp_status results, and the status
playbook run for real on localhost (hosts with their own state directories, connection local)."""

import os
import subprocess
import sys
import time

import pytest
import yaml

from ansible_collections.multicast.igmp.plugins.filter.querier_fleet import querier_fleet, querier_rows
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, election, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.modules import igmp_status

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
T = Timers(query_interval=10.0, max_response_time=1.0)
A, B, C = "10.0.0.9", "10.0.0.10", "10.0.0.100"
FACTS = {"eth0": {"ipv4": {"address": "10.0.0.10", "netmask": "255.255.255.0"}}}
FACTS_LAN2 = {"eth0": {"ipv4": {"address": "192.168.5.3", "netmask": "255.255.255.0"}}}


def document(address, lower=None, mono=1000.0, age=0.0, interface="eth0"):
    q = election.Querier(T, address)
    q.start(mono - 5.0)
    q.record_sent(mono - 5.0)
    if lower:
        q.handle(lower, codec.Query(2, 10, codec.ANY), mono - 1.0)
    wall = time.time() - age
    return state.validate(state.build(q, interface=interface, address=address, link="up", pid=os.getpid(),
                                      version="0.1.0", started=wall - 60, malformed=0, now_mono=mono, now_wall=wall))


def result(*entries):
    """An igmp_status result from the module's own report() of these (interface, document, unit)."""
    now = time.time()
    interfaces = {}
    for name, doc, unit in entries:
        interfaces[name] = igmp_status.report(name, now, document=doc, state_file=None if doc is None else "/x",
                                              unit=unit, systemd_available=unit is not None, files=["/u"])
    return {"interfaces": interfaces, "changed": False}


def unit(active):
    return {"name": "igmp-querier@eth0.service", "load_state": "loaded", "active_state": active,
            "sub_state": "running", "unit_file_state": "enabled"}


def fleet(*hosts):
    rows = []
    for host, res, facts in hosts:
        rows.extend(querier_rows(res, host, facts))
    return querier_fleet(rows, [host[0] for host in hosts])


def test_one_querier_per_lan_passes_and_the_table_names_it():
    verdict = fleet(("q9", result(("eth0", document(A), unit("active"))), FACTS),
                    ("q10", result(("eth0", document(B, lower=A), unit("active"))), FACTS),
                    ("q100", result(("eth0", document(C, lower=A), unit("active"))), FACTS))
    assert verdict["failed"] is False and verdict["problems"] == []
    assert verdict["lines"][0] == "LAN 10.0.0.0/24: querier 10.0.0.9 (q9 eth0)"
    assert verdict["lines"][1:] == ["  q10 eth0 10.0.0.10 non-querier, health ok",
                                    "  q100 eth0 10.0.0.100 non-querier, health ok",
                                    "  q9 eth0 10.0.0.9 querier, health ok"]


def test_two_queriers_on_one_lan_fail():
    verdict = fleet(("q9", result(("eth0", document(A), unit("active"))), FACTS),
                    ("q10", result(("eth0", document(B), unit("active"))), FACTS))
    assert verdict["failed"] is True
    assert verdict["lines"][0] == "LAN 10.0.0.0/24: 2 QUERIERS: 10.0.0.9 (q9 eth0), 10.0.0.10 (q10 eth0)"


def test_lans_are_judged_apart():
    verdict = fleet(("q9", result(("eth0", document(A), unit("active"))), FACTS),
                    ("r3", result(("eth0", document("192.168.5.3"), unit("active"))), FACTS_LAN2))
    assert verdict["failed"] is False
    assert [line for line in verdict["lines"] if line.startswith("LAN")] == [
        "LAN 10.0.0.0/24: querier 10.0.0.9 (q9 eth0)", "LAN 192.168.5.0/24: querier 192.168.5.3 (r3 eth0)"]


def test_a_stopped_daemon_fails_and_says_where():
    verdict = fleet(("q9", result(("eth0", None, unit("inactive"))), FACTS),
                    ("q10", result(("eth0", document(B), unit("active"))), FACTS))
    assert verdict["failed"] is True
    assert "q9 eth0: daemon not running" in verdict["problems"]
    assert "  q9 eth0 - -, health critical: daemon not running (systemd: unit not active)  <- daemon not running" \
        in verdict["lines"]


def test_stale_state_fails_and_says_where():
    verdict = fleet(("q9", result(("eth0", document(A), unit("active"))), FACTS),
                    ("q10", result(("eth0", document(B, lower=A, age=100.0), unit("active"))), FACTS))
    assert verdict["failed"] is True
    assert verdict["problems"] == ["q10 eth0: state STALE (100 s old)"]
    assert verdict["lines"][0] == "LAN 10.0.0.0/24: querier 10.0.0.9 (q9 eth0)"


def test_a_foreign_querier_fails():
    verdict = fleet(("q10", result(("eth0", document(B, lower="10.0.0.1"), unit("active"))), FACTS))
    assert verdict["failed"] is True
    assert verdict["lines"][0] == "LAN 10.0.0.0/24: querier 10.0.0.1 is NOT ONE OF THESE HOSTS"


def test_the_winner_unhealthy_while_the_others_still_see_it():
    verdict = fleet(("q9", result(("eth0", document(A, age=100.0), unit("active"))), FACTS),
                    ("q10", result(("eth0", document(B, lower=A), unit("active"))), FACTS))
    assert verdict["failed"] is True
    assert verdict["lines"][0] == "LAN 10.0.0.0/24: querier 10.0.0.9 per the others, but its own instance is not healthy"


def test_unreachable_and_failed_hosts_and_hosts_without_instances():
    rows = querier_rows({"failed": True, "msg": "boom\nmore"}, "q9", FACTS) + querier_rows(result(), "member", {})
    rows += querier_rows(result(("eth0", document(B), unit("active"))), "q10", FACTS)
    verdict = querier_fleet(rows, ["q9", "q10", "member", "gone"])
    assert "q9 -: igmp_status failed: boom" in verdict["problems"]
    assert "gone: no igmp_status result (unreachable, or the task failed)" in verdict["problems"]
    assert not any(p.startswith("member") for p in verdict["problems"])


def test_hostile_input_never_raises():
    assert querier_fleet(None)["failed"] is True
    assert querier_fleet(["x", 3, {"interface": "eth0"}])["failed"] is True
    assert querier_rows("nonsense", "h")[0]["problems"]
    assert querier_rows({"interfaces": {"eth0": None, "eth1": {"installed": True}}}, "h", {"eth1": "x"})


def test_without_facts_hosts_seeing_one_querier_form_a_lan():
    verdict = fleet(("q9", result(("eth0", document(A), unit("active"))), None),
                    ("q10", result(("eth0", document(B, lower=A), unit("active"))), None))
    assert verdict["lines"][0].startswith("LAN seen from querier 10.0.0.9: ")


# --- the status playbook, for real -----------------------------------------------------------------
def _playbook(tmp_path, hosts):
    inventory = {"all": {"hosts": {}}}
    for name, doc in hosts.items():
        directory = tmp_path / name
        directory.mkdir(parents=True)
        if doc is not None:
            state.write(state.state_path(str(directory), "lo"), doc)
        inventory["all"]["hosts"][name] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                           "igmp_status_state_dir": str(directory)}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    link = tmp_path / "collections" / "ansible_collections" / "multicast"
    link.mkdir(parents=True)
    os.symlink(REPO, str(link / "igmp"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_INJECT_FACT_VARS="False", ANSIBLE_NOCOLOR="1")
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return subprocess.run([playbook, "-i", str(tmp_path / "inventory.yml"), os.path.join(REPO, "playbooks", "status.yml")],
                          env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.skipif(not os.path.exists(os.path.join(os.path.dirname(sys.executable), "ansible-playbook")),
                    reason="ansible-playbook is not installed next to this Python")
def test_status_playbook_passes_on_a_healthy_lan_and_fails_after_its_table_otherwise(tmp_path):
    good = _playbook(tmp_path / "good", {"q9": document("127.0.0.9", interface="lo"),
                                         "q10": document("127.0.0.10", lower="127.0.0.9", interface="lo")})
    assert good.returncode == 0, good.stdout[-3000:]
    assert "LAN 127.0.0.0/8: querier 127.0.0.9 (q9 lo)" in good.stdout
    bad = _playbook(tmp_path / "bad", {"q9": document("127.0.0.9", interface="lo"),
                                       "q10": document("127.0.0.10", interface="lo"),
                                       "q11": document("127.0.0.11", lower="127.0.0.9", age=200.0, interface="lo")})
    assert bad.returncode == 2, bad.stdout[-3000:]
    table = bad.stdout.index("LAN 127.0.0.0/8: 2 QUERIERS: 127.0.0.9 (q9 lo), 127.0.0.10 (q10 lo)")
    assert bad.stdout.index("<- state STALE (2") > table  # the table says what is wrong where
    assert bad.stdout.index("q11 lo: state STALE (2") > bad.stdout.index("<- state STALE (2")  # then it fails
    assert "Fail unless every LAN has one querier" in bad.stdout[table:]

"""igmp_status health verdicts and fail_on, through main() with real state files written by the
daemon's own code path (a real Querier, state.build, state.write)."""

import functools
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, election, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.modules import igmp_status
from tests.helpers import run_module as run_main

A, B = "10.0.0.9", "10.0.0.10"
#: ``run_module(capsys, **args)``: igmp_status's main() in this process; (exit code, result).
run_module = functools.partial(run_main, igmp_status.main)


def write_state(directory, interface, querier, *, age=0.0, mono=1000.0, pid=None):
    wall = time.time() - age
    document = state.build(querier, interface=interface, address=querier.address, link="up", pid=pid or os.getpid(),
                           version="0.1.0", started=wall - 300.0, malformed=0, now_mono=mono, now_wall=wall)
    path = state.state_path(str(directory), interface)
    state.write(path, document)
    return path


def querier(at=1000.0):
    q = election.Querier(Timers(query_interval=10.0, max_response_time=1.0), A)
    q.start(at - 2.0)
    q.record_sent(at)
    return q


def non_querier(at=1000.0):
    q = election.Querier(Timers(query_interval=10.0, max_response_time=1.0), B)
    q.start(at - 10.0)
    q.record_sent(at - 10.0)
    q.handle(A, codec.Query(2, 10, codec.ANY), at)
    return q


def test_a_healthy_instance_is_ok_and_fail_on_critical_passes(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier())
    rc, out = run_module(capsys, state_dir=str(tmp_path), fail_on="critical")
    assert rc == 0 and out["health"] == "ok"
    assert out["interfaces"]["eth7"]["health"] == "ok" and out["interfaces"]["eth7"]["health_reasons"] == []


def test_stale_state_fails_the_host_with_fail_on_critical(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier(), age=120.0)
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert rc == 0 and out["health"] == "critical"  # fail_on defaults to never
    rc, out = run_module(capsys, state_dir=str(tmp_path), fail_on="critical")
    assert rc == 1 and out["failed"] is True
    assert out["msg"].splitlines()[0].startswith("eth7: health critical: state file not refreshed (age 120 s")
    assert out["interfaces"]["eth7"]["health_reasons"][0]["code"] == "stale"


def test_a_dead_daemon_behind_a_fresh_file_is_critical(tmp_path, capsys):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    write_state(tmp_path, "eth7", querier(), pid=child.pid)
    rc, out = run_module(capsys, state_dir=str(tmp_path), fail_on="critical")
    assert rc == 1 and "process %d is gone" % child.pid in out["msg"]


def test_a_foreign_querier_is_critical_when_ours_are_listed(tmp_path, capsys):
    write_state(tmp_path, "eth7", non_querier())
    rc, out = run_module(capsys, state_dir=str(tmp_path), fail_on="critical", queriers=[B, "10.0.0.100"])
    assert rc == 1 and "elected querier 10.0.0.9 is not one of ours" in out["msg"]
    rc, out = run_module(capsys, state_dir=str(tmp_path), fail_on="critical", queriers=[A, B])
    assert rc == 0 and out["health"] == "ok"


def test_fail_on_warning_fails_on_a_warning_that_critical_lets_pass(tmp_path, capsys):
    path = write_state(tmp_path, "eth7", querier())
    document = json.load(open(path))
    document["send_errors"] = 4
    state.write(path, document)
    assert run_module(capsys, state_dir=str(tmp_path), fail_on="critical")[0] == 0
    rc, out = run_module(capsys, state_dir=str(tmp_path), fail_on="warning")
    assert rc == 1 and "eth7: health warning: 4 queries could not be sent" in out["msg"]


def test_a_named_interface_without_an_instance_is_critical(tmp_path, capsys):
    rc, out = run_module(capsys, state_dir=str(tmp_path), interface="nosuch0", fail_on="critical")
    assert rc == 1 and out["interfaces"]["nosuch0"]["health_reasons"][0]["code"] == "not_installed"


def test_no_instance_on_the_host_is_not_a_failure(tmp_path, capsys):
    rc, out = run_module(capsys, state_dir=str(tmp_path / "absent"), fail_on="warning")
    assert rc == 0 and out["health"] == "ok" and out["interfaces"] == {}


def test_an_unreadable_state_file_is_critical_on_its_interface_alone(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier())
    (tmp_path / "eth8.json").write_text("{not json")
    rc, out = run_module(capsys, state_dir=str(tmp_path), fail_on="critical")
    assert rc == 1
    assert out["interfaces"]["eth7"]["health"] == "ok" and out["interfaces"]["eth8"]["health"] == "critical"


@pytest.mark.parametrize("args, message", [
    ({"fail_on": "sometimes"}, "fail_on"),
    ({"queriers": ["10.0.0.300"]}, "queriers must list IPv4 addresses, got '10.0.0.300'"),
    ({"queriers": ["a\0b"]}, "queriers must list IPv4 addresses"),
])
def test_bad_options_fail_clearly(tmp_path, capsys, args, message):
    rc, out = run_module(capsys, state_dir=str(tmp_path), **args)
    assert rc == 1 and message in out["msg"]

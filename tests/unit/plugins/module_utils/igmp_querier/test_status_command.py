"""``igmp-querier status``: lines, JSON and exit codes from real state files; the CLI dispatch; the
interface prefix of every log line."""

import json
import logging
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import _systemd, codec, main, state, status
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import Querier

MODULE_UTILS = os.path.dirname(os.path.dirname(os.path.abspath(main.__file__)))
T = Timers(query_interval=10.0, max_response_time=1.0, robustness=2)
ME, LOWER = "10.0.0.10", "10.0.0.9"
NOW = 1700000000.0


def write(directory, interface, q, *, age=0.0, pid=None, per_instance=True):
    """The daemon's state file of ``interface``, written ``age`` seconds before NOW (mono 1002 = NOW)."""
    document = state.build(q, interface=interface, address=q.address, link="up", pid=pid or os.getpid(),
                           version="0.1.0", started=NOW - 100.0, malformed=0, now_mono=1002.0, now_wall=NOW - age)
    target = os.path.join(str(directory), interface) if per_instance else str(directory)
    os.makedirs(target, exist_ok=True)
    state.write(state.state_path(target, interface), document)


def querier():
    q = Querier(T, ME)
    q.start(1000.0)
    q.record_sent(1002.0)
    q.handle("10.0.0.20", codec.Report(2, "239.1.2.3"), 1001.0)
    return q


def non_querier():
    q = Querier(T, ME)
    q.start(1000.0)
    q.record_sent(1000.0)
    q.handle(LOWER, codec.Query(2, 10, codec.ANY), 1001.0)
    return q


def no_systemd(name):
    return {"active": None, "enabled": None}


def run(capsys, *argv, facts=no_systemd):
    code = status.main(list(argv), now=NOW, facts=facts)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_one_line_per_interface_and_exit_0_when_all_ok(tmp_path, capsys):
    write(tmp_path, "eth0", querier())
    write(tmp_path, "eth1", non_querier())
    code, out, _err = run(capsys, "--state-dir", str(tmp_path))
    assert code == 0
    assert out.splitlines() == [
        "eth0: querier 10.0.0.10 (us), last query heard never, 1 group, health ok",
        "eth1: non-querier, querier 10.0.0.9, last query heard 1 s ago from 10.0.0.9, 0 groups, health ok",
    ]


def test_a_stale_interface_makes_it_exit_2_and_says_why(tmp_path, capsys):
    write(tmp_path, "eth0", querier())
    write(tmp_path, "eth1", non_querier(), age=40.0)
    code, out, _err = run(capsys, "--state-dir", str(tmp_path))
    assert code == 2
    assert out.splitlines()[1].startswith("eth1: non-querier, querier 10.0.0.9, last query heard")
    assert "health critical: state file not refreshed (age 40 s, limit 31 s)" in out.splitlines()[1]


def test_a_warning_exits_1(tmp_path, capsys):
    write(tmp_path, "eth0", querier())
    code, out, _err = run(capsys, "--state-dir", str(tmp_path), facts=lambda name: {"active": True, "enabled": False})
    assert code == 1 and "health warning: unit not enabled" in out


def test_systemd_says_stopped_exits_2(tmp_path, capsys):
    write(tmp_path, "eth0", querier())
    code, out, _err = run(capsys, "eth0", "--state-dir", str(tmp_path),
                          facts=lambda name: {"active": False, "enabled": True})
    assert code == 2 and "daemon not running (systemd: unit not active)" in out


def test_a_dead_process_behind_a_fresh_file_exits_2(tmp_path, capsys):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    write(tmp_path, "eth0", querier(), pid=child.pid)
    code, out, _err = run(capsys, "--state-dir", str(tmp_path))
    assert code == 2 and "process %d is gone" % child.pid in out


def test_a_foreign_querier_is_critical_with_ours_named(tmp_path, capsys):
    write(tmp_path, "eth0", non_querier())
    assert run(capsys, "--state-dir", str(tmp_path), "--ours", "10.0.0.10, 10.0.0.100")[0] == 2
    assert run(capsys, "--state-dir", str(tmp_path), "--ours", "10.0.0.9,10.0.0.10")[0] == 0


def test_json_output(tmp_path, capsys):
    write(tmp_path, "eth0", querier(), per_instance=False)
    code, out, _err = run(capsys, "eth0", "--json", "--state-dir", str(tmp_path))
    document = json.loads(out)
    assert code == 0 and document["health"] == "ok"
    eth0 = document["interfaces"]["eth0"]
    assert eth0["role"] == "querier" and eth0["querier"] == ME and eth0["groups"] == 1 and eth0["reasons"] == []


def test_a_named_interface_without_an_instance_is_critical(tmp_path, capsys):
    code, out, _err = run(capsys, "eth9", "--state-dir", str(tmp_path))
    assert code == 2 and out == "eth9: no state, health critical: no querier installed on this interface\n"


def test_nothing_to_judge_exits_3(tmp_path, capsys):
    code, out, _err = run(capsys, "--state-dir", str(tmp_path))
    assert code == 3 and "no igmp-querier instance on this host" in out


def test_a_hostile_state_file_is_reported_on_its_interface_alone(tmp_path, capsys):
    write(tmp_path, "eth0", querier())
    os.makedirs(str(tmp_path / "eth1"))
    (tmp_path / "eth1" / "eth1.json").write_text("[" * 100000)
    code, out, _err = run(capsys, "--state-dir", str(tmp_path))
    lines = out.splitlines()
    assert code == 2 and lines[0].endswith("health ok") and lines[1].startswith("eth1: no state, health critical")


@pytest.mark.parametrize("argv", [["bad/name"], ["--state-dir", "a\0b"], ["--bogus"]])
def test_bad_command_lines_exit_3_with_one_line(argv, capsys):
    try:
        code = status.main(argv, now=NOW)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    err = capsys.readouterr().err
    assert code == 3 and len(err.splitlines()) == 1 and "error" in err


def test_unit_names_escape_like_systemd():
    assert _systemd.unit_name("br-lan") == "igmp-querier@br\\x2dlan.service"
    assert _systemd.unit_name("eth0.10") == "igmp-querier@eth0.10.service"


def test_the_cli_dispatches_status_and_help_lists_it(tmp_path):
    write(tmp_path, "eth0", non_querier(), age=NOW - time.time())  # written "now"
    env = dict(os.environ, PYTHONPATH=MODULE_UTILS)
    helped = subprocess.run([sys.executable, "-m", "igmp_querier.main", "--help"], env=env, capture_output=True,
                            text=True, check=False)
    assert helped.returncode == 0 and "igmp-querier status [IFACE] [--json]" in helped.stdout
    ran = subprocess.run([sys.executable, "-m", "igmp_querier.main", "status", "--state-dir", str(tmp_path)],
                         env=env, capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.startswith("eth0: non-querier, querier 10.0.0.9, last query heard")


@pytest.mark.parametrize("journal", [False, True])
def test_every_log_line_names_the_interface(journal, monkeypatch, capsys):
    if journal:
        monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    else:
        monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    logger = logging.getLogger("igmp_querier")
    saved = logger.handlers[:], logger.level, logger.propagate
    try:
        main.setup_logging(False, "br%lan")
        logger.warning("LOST to %s", LOWER)
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    err = capsys.readouterr().err
    assert err.rstrip("\n").endswith("br%lan: LOST to 10.0.0.9")
    if journal:
        assert err.startswith("<4>br%lan: ")

"""igmp_status, run through its main() with real module arguments and real state files.

State files are written by the daemon's own code path: a real ``election.Querier`` fed real
messages, snapshotted by ``state.build`` and written by ``state.write``. Listening captures real
IGMP on loopback (root). Running unprivileged uses a real unprivileged child process. One test
runs the module through the ``ansible`` command itself.
"""

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, election, sockets, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.modules import igmp_status
from tests.helpers import collections_root, run_module as run_main, warnings_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE = os.path.join(REPO, "plugins", "modules", "igmp_status.py")
ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: raw IGMP capture and send on loopback")
A, B, MEMBER = "10.0.0.9", "10.0.0.10", "10.0.0.20"
#: ``run_module(capsys, **args)``: igmp_status's main() in this process; (exit code, result).
run_module = functools.partial(run_main, igmp_status.main)


def write_state(directory, interface, querier, *, age=0.0, mono=1000.0, per_instance=False, link="up"):
    """Snapshot a real Querier as the daemon does; ``age``: how long ago the daemon wrote it."""
    wall = time.time() - age
    document = state.build(querier, interface=interface, address=querier.address, link=link, pid=4242,
                           version="0.1.0", started=wall - 300.0, malformed=0, now_mono=mono, now_wall=wall)
    target = os.path.join(str(directory), interface) if per_instance else str(directory)
    os.makedirs(target, exist_ok=True)
    path = state.state_path(target, interface)
    state.write(path, document)
    return path


def querier_with_member(query_interval=10.0):
    """We are querier at A, sent one query at t=998, heard a report for 239.1.2.3 at t=999."""
    q = election.Querier(Timers(query_interval=query_interval, max_response_time=1.0), A)
    q.start(998.0)
    q.record_sent(998.0)
    q.handle(MEMBER, codec.Report(2, "239.1.2.3"), 999.0)
    return q


def non_querier(heard_at=998.0):
    """We are at B and lost the election to A, whose query we heard at ``heard_at``."""
    q = election.Querier(Timers(query_interval=10.0, max_response_time=1.0), B)
    q.start(990.0)
    q.record_sent(990.0)
    q.handle(A, codec.Query(2, 10, codec.ANY), heard_at)
    return q


# --- status from state files ---------------------------------------------------------------
def test_querier_state(tmp_path, capsys):
    path = write_state(tmp_path, "eth7", querier_with_member())
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert rc == 0 and out["changed"] is False
    entry = out["interfaces"]["eth7"]
    assert entry["installed"] is True and entry["state_file"] == path and entry["state_error"] is None
    assert (entry["role"], entry["address"], entry["querier"], entry["is_querier"]) == ("querier", A, A, True)
    assert entry["queries_sent"] == 1 and entry["queries_heard"] == 0
    assert entry["last_query_sent_age"] == pytest.approx(2.0, abs=1.0)
    assert entry["last_query_heard_age"] is None and entry["last_query_heard_from"] is None
    assert entry["stale"] is False and entry["state_age"] < 5
    assert [g["group"] for g in entry["groups"]] == ["239.1.2.3"]
    assert entry["groups"][0]["last_reporter"] == MEMBER
    assert entry["groups"][0]["expires_in"] == pytest.approx(2 * 10.0 + 1.0 - 1.0, abs=1.5)
    assert entry["igmp_version"] == 2 and entry["timers"]["query_interval"] == 10.0
    assert entry["pid"] == 4242 and entry["daemon_version"] == "0.1.0"
    assert entry["uptime"] == pytest.approx(300.0, abs=5)
    assert entry["heard"] is None and entry["listen"] is None
    assert entry["msg"] == "eth7: querier 10.0.0.9 (us), 1 sent, 1 group"
    assert out["msg"] == entry["msg"]
    assert out["listened"] == 0.0 and out["state_dir"] == str(tmp_path)


def test_non_querier_names_the_elected_querier(tmp_path, capsys):
    write_state(tmp_path, "eth8", non_querier(heard_at=998.0), mono=1000.0, per_instance=True)
    rc, out = run_module(capsys, state_dir=str(tmp_path), interface="eth8")
    entry = out["interfaces"]["eth8"]
    assert rc == 0
    assert (entry["role"], entry["address"], entry["querier"], entry["is_querier"]) == ("non-querier", B, A, False)
    assert entry["queries_heard"] == 1 and entry["last_query_heard_from"] == A
    assert entry["elections_lost"] == 1
    assert entry["msg"].startswith("eth8: non-querier, querier is 10.0.0.9 (heard 2.")
    assert entry["msg"].endswith(" s ago), 0 groups")


def test_every_instance_is_found_in_both_layouts(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier_with_member())
    write_state(tmp_path, "eth8", non_querier(), per_instance=True)
    (tmp_path / ".eth9.json.tmp123").write_text("{}")  # the daemon's temp file mid-rename: not an instance
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert sorted(out["interfaces"]) == ["eth7", "eth8"]
    assert out["msg"].splitlines() == [out["interfaces"]["eth7"]["msg"], out["interfaces"]["eth8"]["msg"]]


def test_stale_state_is_reported_and_warned(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier_with_member(query_interval=10.0), age=120.0)
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    entry = out["interfaces"]["eth7"]
    assert rc == 0 and entry["stale"] is True
    assert entry["state_age"] == pytest.approx(120.0, abs=2.0)
    assert entry["msg"] == "eth7: STALE state (120 s old): daemon hung?"
    assert entry["msg"] in warnings_of(out)


def test_fresh_enough_state_is_not_stale(tmp_path, capsys):
    # three query intervals (30 s) plus a second of grace
    write_state(tmp_path, "eth7", querier_with_member(query_interval=10.0), age=29.0)
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert out["interfaces"]["eth7"]["stale"] is False
    assert warnings_of(out) == []


@pytest.mark.parametrize("content, reason", [
    ("{not json", "cannot read"),
    (json.dumps({"schema": 99}), "schema 99"),
    (json.dumps({"schema": 1, "interface": "eth7"}), "state has no"),
])
def test_unreadable_state_is_reported_not_fatal(tmp_path, capsys, content, reason):
    (tmp_path / "eth7.json").write_text(content)
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    entry = out["interfaces"]["eth7"]
    assert rc == 0
    assert entry["installed"] is True and entry["role"] is None
    assert reason in entry["state_error"]
    assert entry["msg"].startswith("eth7: unreadable state file: ")
    assert entry["msg"] in warnings_of(out)


def test_host_without_the_daemon_is_not_an_error(tmp_path, capsys):
    rc, out = run_module(capsys, state_dir=str(tmp_path / "absent"))
    assert rc == 0 and out["changed"] is False
    assert out["interfaces"] == {}
    assert out["msg"].startswith("no igmp-querier instance on this host")


def test_named_interface_without_the_daemon(tmp_path, capsys):
    rc, out = run_module(capsys, state_dir=str(tmp_path), interface="nosuch0")
    entry = out["interfaces"]["nosuch0"]
    assert rc == 0
    assert entry["installed"] is False and entry["exists"] is False and entry["role"] is None
    assert entry["msg"] == "nosuch0: no querier installed (no such interface)"


def test_systemd_is_reported_as_it_is_on_this_host(tmp_path, capsys):
    rc, out = run_module(capsys, state_dir=str(tmp_path), interface="lo")
    systemd_runs = os.path.isdir("/run/systemd/system") and shutil.which("systemctl") is not None
    assert out["systemd"]["available"] is systemd_runs
    entry = out["interfaces"]["lo"]
    if out["systemd"]["available"]:
        assert out["systemd"]["note"] is None
        assert entry["unit"]["name"] == "igmp-querier@lo.service"
        assert entry["active"] is False and entry["enabled"] is False
    else:
        assert "systemd" in out["systemd"]["note"] or "systemctl" in out["systemd"]["note"]
        assert entry["unit"] is None and entry["active"] is None and entry["enabled"] is None


def test_check_mode_reports_the_same(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier_with_member())
    rc, out = run_module(capsys, state_dir=str(tmp_path), _ansible_check_mode=True)
    assert rc == 0 and out["changed"] is False
    assert out["interfaces"]["eth7"]["msg"] == "eth7: querier 10.0.0.9 (us), 1 sent, 1 group"


@pytest.mark.parametrize("args, message", [
    ({"listen": -1}, "listen must be 0..600 seconds, got -1"),
    ({"listen": 600.5}, "listen must be 0..600 seconds, got 600.5"),
    ({"listen": "soon"}, "listen"),
    ({"interface": "a/b"}, "interface must be a Linux interface name"),
    ({"interface": "x" * 16}, "interface must be a Linux interface name"),
    ({"interface": "eth 0"}, "interface must be a Linux interface name"),
    ({"interface": "nosuch0", "listen": 1}, "cannot listen: interface 'nosuch0' does not exist; interfaces here:"),
    ({"bogus": 1}, "Unsupported parameters"),
])
def test_bad_options_fail_clearly(tmp_path, capsys, args, message):
    rc, out = run_module(capsys, state_dir=str(tmp_path), **args)
    assert rc == 1 and out["failed"] is True
    assert message in out["msg"]


# --- the pure parts: summaries ----------------------------------------------------------------
def unit(active, enabled="enabled", load="loaded"):
    return {"name": "igmp-querier@eth0.service", "load_state": load, "active_state": active,
            "sub_state": "x", "unit_file_state": enabled}


def test_summaries_with_systemd():
    now = time.time()
    doc = state.build(querier_with_member(), interface="eth0", address=A, link="up", pid=1, version="0.1.0",
                      started=now - 10, malformed=0, now_mono=1000.0, now_wall=now - 100)
    fresh = dict(doc, updated=now)
    report = igmp_status.report
    running = report("eth0", now, document=fresh, state_file="/x", unit=unit("active"), systemd_available=True)
    assert (running["installed"], running["active"], running["enabled"]) == (True, True, True)
    assert running["msg"] == "eth0: querier 10.0.0.9 (us), 1 sent, 1 group"
    hung = report("eth0", now, document=doc, state_file="/x", unit=unit("active"), systemd_available=True)
    assert hung["msg"] == "eth0: STALE state (100 s old): daemon hung?"
    dead = report("eth0", now, document=doc, state_file="/x", unit=unit("failed"), systemd_available=True)
    assert dead["msg"] == "eth0: daemon not running (failed), state left behind is 100 s old"
    failed = report("eth0", now, unit=unit("failed"), systemd_available=True)
    assert failed["installed"] is True and failed["active"] is False
    assert failed["msg"] == "eth0: installed, daemon not running (failed)"
    starting = report("eth0", now, unit=unit("active"), systemd_available=True)
    assert starting["msg"] == "eth0: daemon active, no state file yet"
    template_only = report("eth0", now, unit=unit("inactive", enabled="disabled"), systemd_available=True)
    assert template_only["installed"] is False and template_only["enabled"] is False
    assert template_only["msg"] == "eth0: no querier installed"
    by_hand = report("eth0", now, document=fresh, state_file="/x", unit=unit("inactive", "", "not-found"),
                     systemd_available=True)
    assert by_hand["installed"] is True and by_hand["active"] is False
    assert by_hand["msg"] == "eth0: querier 10.0.0.9 (us), 1 sent, 1 group"
    link_down = report("eth0", now, document=dict(fresh, link="down"), state_file="/x")
    assert link_down["msg"] == "eth0: link down, daemon waiting (querier, 1 sent)"
    enabled_files = report("eth0", now, files=["/etc/systemd/system/multi-user.target.wants/igmp-querier@eth0.service"])
    assert enabled_files["installed"] is True and enabled_files["msg"] == "eth0: installed, no state file"


def test_summaries_with_listen():
    now = time.time()
    heard = [{"source": A, "version": 2, "count": 3, "interval": 2.0, "max_response": 1.0, "own": False}]
    entry = igmp_status.report("eth0", now, heard=heard, listen={"seconds": 5.0, "error": None}, exists=True)
    assert entry["msg"] == "eth0: no querier installed; heard 10.0.0.9 IGMPv2 x3 every 2.0 s, max resp 1.0 s"
    silent = igmp_status.report("eth0", now, heard=[], listen={"seconds": 5.0, "error": None})
    assert silent["msg"] == "eth0: no querier installed; heard no query in 5 s"
    denied = igmp_status.report("eth0", now, listen={"seconds": 5.0, "error": "needs CAP_NET_RAW"})
    assert denied["msg"] == "eth0: no querier installed; listen failed: needs CAP_NET_RAW"


# --- listening on the wire (loopback) -------------------------------------------------------
def send_queries_on_lo(times, start):
    sender = sockets.open_sender("lo", socket.if_nametoindex("lo"), "127.0.0.1")
    try:
        for offset in times:
            time.sleep(max(0.0, start + offset - time.monotonic()))
            sender.sendto(codec.encode_query_v2(40), (codec.ALL_HOSTS, 0))
    finally:
        sender.close()


@ROOT
def test_listen_hears_queries_on_the_wire(tmp_path, capsys):
    write_state(tmp_path, "lo", querier_with_member())
    start = time.monotonic() + 0.3
    thread = threading.Thread(target=send_queries_on_lo, args=((0.0, 0.5, 1.0), start))
    thread.start()
    try:
        rc, out = run_module(capsys, state_dir=str(tmp_path), interface="lo", listen=1.8)
    finally:
        thread.join()
    assert rc == 0 and out["listened"] == 1.8
    entry = out["interfaces"]["lo"]
    (heard,) = [h for h in entry["heard"] if h["source"] == "127.0.0.1"]
    assert heard["count"] == 3 and heard["general"] == 3 and heard["version"] == 2
    assert heard["interval"] == pytest.approx(0.5, abs=0.1)
    assert heard["max_response"] == 4.0
    assert entry["listen"]["elected"] == "127.0.0.1" and entry["listen"]["error"] is None
    assert entry["listen"]["packets"] >= 3 and entry["listen"]["malformed"] == 0
    assert "; heard 127.0.0.1 IGMPv2 x3 every 0.5 s, max resp 4.0 s" in entry["msg"]
    assert entry["msg"].startswith("lo: querier 10.0.0.9 (us), 1 sent, 1 group; heard ")


@ROOT
def test_listen_without_instances_reports_silence(tmp_path, capsys):
    rc, out = run_module(capsys, state_dir=str(tmp_path), interface="lo", listen=0.3)
    entry = out["interfaces"]["lo"]
    assert rc == 0 and entry["installed"] is False and entry["heard"] == []
    assert entry["msg"] == "lo: no querier installed; heard no query in 0 s"


def run_subprocess(args, tmp_path, drop_caps=None):
    """The module as its own process; ``drop_caps``: setpriv capability list to remove (e.g. ``net_raw``)."""
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=collections_root())
    prefix = []
    if drop_caps:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv (util-linux) to drop capabilities")
        prefix = [setpriv, "--bounding-set=-" + drop_caps, "--inh-caps=-" + drop_caps, "--"]
    proc = subprocess.run(prefix + [sys.executable, MODULE, str(args_file)], capture_output=True, check=False, text=True, env=env,
                          timeout=60, cwd=str(tmp_path))
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@ROOT  # to hold CAP_NET_RAW and give it up
def test_listen_without_cap_net_raw_fails_clearly_and_keeps_the_status(tmp_path):
    states = tmp_path / "states"
    write_state(states, "lo", querier_with_member())
    rc, out = run_subprocess({"state_dir": str(states), "interface": "lo", "listen": 0.5}, tmp_path, drop_caps="net_raw")
    assert rc == 1 and out["failed"] is True
    first = out["msg"].splitlines()[0]
    assert first.startswith("listen=0.5 needs CAP_NET_RAW to capture IGMP on lo: run as root")
    entry = out["interfaces"]["lo"]
    assert entry["role"] == "querier" and entry["heard"] is None
    assert "CAP_NET_RAW" in entry["listen"]["error"]
    assert entry["msg"].startswith("lo: querier 10.0.0.9 (us), 1 sent, 1 group; listen failed: capturing IGMP needs CAP_NET_RAW")


def test_status_without_listen_needs_no_capability(tmp_path):
    states = tmp_path / "states"
    write_state(states, "eth7", querier_with_member())
    rc, out = run_subprocess({"state_dir": str(states)}, tmp_path, drop_caps="all" if os.geteuid() == 0 else None)
    assert rc == 0
    assert out["interfaces"]["eth7"]["msg"] == "eth7: querier 10.0.0.9 (us), 1 sent, 1 group"


# --- through ansible itself ---------------------------------------------------------------
def test_ad_hoc_through_ansible(tmp_path):
    """``ansible localhost -m multicast.igmp.igmp_status``: the module and its module_utils ship."""
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    if not os.path.exists(ansible):
        pytest.skip("the ansible command is not installed next to this python")
    states = tmp_path / "states"
    write_state(states, "eth7", non_querier(heard_at=999.0))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))
    proc = subprocess.run([ansible, "localhost", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
                           "-m", "multicast.igmp.igmp_status", "-a", "state_dir=%s" % states],
                          capture_output=True, check=False, text=True, env=env, timeout=120, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["changed"] is False
    assert result["interfaces"]["eth7"]["querier"] == A
    assert result["msg"].startswith("eth7: non-querier, querier is 10.0.0.9")


def test_bare_module_name_from_the_repository_root(tmp_path):
    """``ansible localhost -m igmp_status`` in the checkout: the repository's ansible.cfg finds it."""
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    if not os.path.exists(ansible):
        pytest.skip("the ansible command is not installed next to this python")
    states = tmp_path / "states"
    write_state(states, "eth7", querier_with_member())
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}  # the checkout's ansible.cfg
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0")
    proc = subprocess.run([ansible, "localhost", "-e", "ansible_python_interpreter=" + sys.executable,
                           "-m", "igmp_status", "-a", "state_dir=%s" % states],
                          capture_output=True, check=False, text=True, env=env, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["msg"] == "eth7: querier 10.0.0.9 (us), 1 sent, 1 group"


# --- hostile state files, names and options ------------------------------------------------------
def _hostile_text(tmp_path, change):
    """A real daemon's state document after ``change``, as JSON text (NaN/Infinity allowed)."""
    document = state.build(querier_with_member(), interface="x", address=A, link="up", pid=1, version="0.1.0",
                           started=time.time() - 10, malformed=0, now_mono=1000.0, now_wall=time.time())
    change(document)
    return json.dumps(document)


HOSTILE_FILES = {
    "deep0": "[" * 200000 + "]" * 200000,
    "deep1": '{"schema": 1, "groups": ' + "[" * 200000 + "]" * 200000 + "}",
    "expires0": lambda d: d["groups"][0].update(expires="later"),
    "expires1": lambda d: d["groups"][0].update(expires=[[[]]]),
    "group0": lambda d: d["groups"].append({"group": {}, "last_reporter": None, "version": 2, "expires": None}),
    "version0": lambda d: d["groups"][0].update(version="2"),
    "timers0": lambda d: d["timers"].update(query_interval="10"),
    "timers1": lambda d: d.update(timers=[]),
    "effective0": lambda d: d["effective"].update(query_interval=None),
    "effective1": lambda d: d["effective"].update(timeout={"a": 1}),
    "nan0": lambda d: d.update(updated=float("nan")),
    "inf0": lambda d: d.update(updated=float("inf")),
    "future0": lambda d: d.update(updated=time.time() + 3600),
    "nan1": lambda d: d["effective"].update(query_interval=float("nan")),
    "list0": "[1, 2]",
    "utf0": b'{"schema": 1, "interface": "\xc3"}',
}


def test_each_bad_state_file_is_an_error_of_its_interface_alone(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier_with_member())
    write_state(tmp_path, "eth8", non_querier(), per_instance=True)
    for name, content in HOSTILE_FILES.items():
        if callable(content):
            content = _hostile_text(tmp_path, content)
        (tmp_path / (name + ".json")).write_bytes(content if isinstance(content, bytes) else content.encode())
    with open(str(tmp_path / "huge0.json"), "wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert rc == 0
    assert sorted(out["interfaces"]) == sorted(["eth7", "eth8", "huge0"] + list(HOSTILE_FILES))
    assert out["interfaces"]["eth7"]["msg"] == "eth7: querier 10.0.0.9 (us), 1 sent, 1 group"
    assert out["interfaces"]["eth8"]["role"] == "non-querier" and out["interfaces"]["eth8"]["state_error"] is None
    for name in list(HOSTILE_FILES) + ["huge0"]:
        entry = out["interfaces"][name]
        assert entry["state_error"] and entry["role"] is None and entry["stale"] is None, (name, entry)
        assert entry["msg"] == "%s: unreadable state file: %s" % (name, entry["state_error"])
        assert entry["msg"] in warnings_of(out)
    assert "larger than 2097152 bytes" in out["interfaces"]["huge0"]["state_error"]
    assert "in the future" in out["interfaces"]["future0"]["state_error"]
    assert "NaN is not a number" in out["interfaces"]["nan0"]["state_error"]
    assert "'expires' is 'later'" in out["interfaces"]["expires0"]["state_error"]


def test_updated_a_little_ahead_is_fresh_far_ahead_is_an_error(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier_with_member(), age=-3.0)  # within the 5 s of clock skew
    write_state(tmp_path, "eth8", querier_with_member(), age=-60.0)
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert out["interfaces"]["eth7"]["stale"] is False and out["interfaces"]["eth7"]["state_error"] is None
    assert out["interfaces"]["eth8"]["state_error"].startswith("state 'updated' is 60 s in the future")
    assert out["interfaces"]["eth8"]["stale"] is None


def test_names_that_are_no_interface_are_not_reported(tmp_path, capsys):
    write_state(tmp_path, "eth7", querier_with_member())
    for name in (b"\xff.json", b"tab\t.json", b"x" * 16 + b".json"):
        with open(os.path.join(str(tmp_path).encode(), name), "w") as handle:
            handle.write("{}")
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert rc == 0 and sorted(out["interfaces"]) == ["eth7"]


@pytest.mark.parametrize("args, message", [
    ({"interface": "eth0\0"}, "interface must not contain a NUL byte, got 'eth0\\x00'"),
    ({"interface": "\0"}, "interface must not contain a NUL byte"),
    ({"interface": "eth\x1b[0"}, "interface must not contain control characters, got 'eth\\x1b[0'"),
    ({"interface": "eth0\0", "listen": 1}, "interface must not contain a NUL byte"),
    ({"state_dir": "/run/igmp\0querier"}, "state_dir must not contain a NUL byte, got '/run/igmp\\x00querier'"),
    ({"state_dir": "/run/\nx"}, "state_dir must not contain control characters"),
    ({"listen": float("nan")}, "listen must be 0..600 seconds, got nan"),
    ({"listen": "inf"}, "listen must be 0..600 seconds, got inf"),
])
def test_hostile_options_fail_naming_the_option(tmp_path, capsys, args, message):
    args.setdefault("state_dir", str(tmp_path))
    # no_log: no invocation logging, which on Python 3.13+ refuses a NUL first (the next test).
    rc, out = run_module(capsys, _ansible_no_log=True, **args)
    assert rc == 1 and out["failed"] is True
    assert message in out["msg"]


def test_a_nul_byte_fails_the_module_with_invocation_logging_on_too(tmp_path, capsys):
    # Python 3.13+ syslog refuses a NUL, so ansible-core fails logging the invocation itself;
    # older Pythons leave it to the module. Either way no report is made.
    rc, out = run_module(capsys, interface="eth0\0", state_dir=str(tmp_path))
    assert rc == 1 and out["failed"] is True and "interfaces" not in out
    assert ("interface must not contain a NUL byte" in out["msg"]
            or out["msg"].startswith("Failed to log to syslog (embedded null"))


def test_the_newer_counters_are_reported_and_documented(tmp_path, capsys):
    q = querier_with_member()
    q.queries_ignored, q.role_changes = 5, 3
    q.groups.dropped = 7
    path = write_state(tmp_path, "eth7", q)
    document = state.read(path)
    document["send_errors"] = 2
    state.write(path, document)
    older = dict(document)
    for key in state.COUNTERS:
        del older[key]
    state.write(state.state_path(str(tmp_path), "eth8"), older)
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    entry = out["interfaces"]["eth7"]
    assert {key: entry[key] for key in state.COUNTERS} == {
        "queries_ignored": 5, "groups_overflow": 7, "send_errors": 2, "role_changes": 3}
    assert all(out["interfaces"]["eth8"][key] == 0 for key in state.COUNTERS)  # an older daemon's file
    assert all(igmp_status.report("eth9", time.time())[key] is None for key in state.COUNTERS)
    import yaml
    documented = yaml.safe_load(igmp_status.RETURN)["interfaces"]["contains"]
    assert set(entry) <= set(documented), set(entry) - set(documented)
    assert set(state.COUNTERS) <= set(documented)


def test_the_report_follows_the_state_schema_and_is_documented(tmp_path, capsys):
    import yaml
    path = write_state(tmp_path, "eth0", querier_with_member())
    document = state.read(path)
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    entry = out["interfaces"]["eth0"]
    # every key of the schema is copied, derived or deliberately left out; none is forgotten
    schema = set(state.FIELDS) | set(state.COUNTERS)
    assert set(igmp_status.COPIED) | set(igmp_status.DERIVED) | set(igmp_status.UNREPORTED) == schema
    assert {key: entry[key] for key in igmp_status.COPIED} == {key: document[key] for key in igmp_status.COPIED}
    assert entry["daemon_version"] == document["version"] and entry["is_querier"] is True
    assert set(igmp_status.DERIVED.values()) | set(igmp_status.COPIED) <= set(entry)
    # the entry has the same keys with a state file and without one, and RETURN documents each
    bare = igmp_status.report("eth9", time.time())
    assert set(bare) == set(entry) == set(igmp_status.REPORT_KEYS) | {"health", "health_reasons"}
    assert all(bare[key] is None for key in igmp_status.COPIED)
    documented = yaml.safe_load(igmp_status.RETURN)["interfaces"]["contains"]
    assert set(entry) == set(documented), set(entry) ^ set(documented)


def _json_values():
    from hypothesis import strategies as st
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _paths(document):
    """Every place in ``document``: (container, key) pairs."""
    places = []
    for key, value in document.items():
        places.append((document, key))
        if isinstance(value, dict):
            places.extend((value, k) for k in value)
        elif isinstance(value, list):
            places.extend((value, i) for i in range(len(value)))
            for item in value:
                if isinstance(item, dict):
                    places.extend((item, k) for k in item)
    return places


def _like(original):
    """Values of the kind found at a place (most survive validation, so the report runs on them)."""
    from hypothesis import strategies as st
    if isinstance(original, bool):
        return st.booleans()
    if isinstance(original, (int, float)):
        return st.integers() | st.floats()
    if isinstance(original, str):
        return (st.sampled_from(["querier", "non-querier", "up", "down", "absent", "eth1", "0.2.0", "239.1.2.3"])
                | st.ip_addresses(v=4).map(str) | st.text(max_size=30))
    if original is None:
        return st.none() | st.floats() | st.text(max_size=10)
    return _json_values()


def test_no_state_file_content_makes_the_report_raise(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    base = json.loads(_hostile_text(tmp_path, lambda d: None))
    seen = {"read": 0, "refused": 0}

    @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data):
        document = json.loads(json.dumps(base))
        for _round in range(data.draw(st.integers(1, 3))):
            container, key = data.draw(st.sampled_from(_paths(document)))
            container[key] = data.draw(_like(container[key]) | _json_values())
        path = str(tmp_path / "eth0.json")
        with open(path, "w") as handle:
            handle.write(json.dumps(document))  # NaN and Infinity as Python's json writes them
        now = time.time()
        try:
            document = state.read(path, now_wall=now)
        except state.StateError:
            seen["refused"] += 1
            return
        seen["read"] += 1
        entry = igmp_status.report("eth0", now, document=document, state_file=path)
        json.dumps(entry, allow_nan=False)  # what the module prints is strict JSON

    check()
    assert seen["read"] > 50 and seen["refused"] > 50, seen  # both paths were exercised


class StepClock:
    """A fake monotonic clock that advances ``step`` seconds each time it is read."""

    def __init__(self, step):
        self.now, self.step, self.reads = 0.0, step, 0

    def __call__(self):
        self.reads += 1
        self.now += self.step
        return self.now


@ROOT
def test_capture_checks_its_deadline_per_batch_while_frames_keep_coming():
    from ansible_collections.multicast.igmp.plugins.module_utils import observe
    receiver = sockets.open_receiver("lo", socket.if_nametoindex("lo"), outgoing=True)
    sender = sockets.open_sender("lo", socket.if_nametoindex("lo"), "127.0.0.1")
    try:
        for _round in range(300):  # queued before the capture starts: the socket never runs dry in it
            sender.sendto(codec.encode_query_v2(40), (codec.ALL_HOSTS, 0))
        observer = observe.Observer()
        clock = StepClock(0.01)
        observe.capture({receiver.fileno(): ("lo", receiver, True)}, {"lo": observer}, 0.05, clock=clock)
        # two batches fit before the fake clock passes the deadline; draining would take all 300
        assert 0 < observer.packets <= 2 * observe.BATCH
        assert clock.reads <= 8
        assert sockets.receive(receiver) is not None  # frames were left queued
    finally:
        sender.close()
        receiver.close()


def test_every_key_of_a_heard_entry_is_documented():
    import yaml
    from ansible_collections.multicast.igmp.plugins.module_utils import observe
    obs = observe.Observer()
    obs.feed(codec.encode_ipv4(A, codec.ALL_HOSTS, codec.encode_query_v2(100)), 1.0)
    documented = yaml.safe_load(igmp_status.RETURN)["interfaces"]["contains"]
    (heard,) = obs.queriers(now=2.0)
    assert set(heard) == set(documented["heard"]["contains"])
    sample = documented["listen"]["sample"]
    assert set(obs.counters()) | {"seconds", "elected", "error", "mld"} == set(sample)


def test_a_pid_beyond_any_process_is_not_running_and_never_raises(tmp_path, capsys):
    path = tmp_path / "eth0.json"
    path.write_text(_hostile_text(tmp_path, lambda d: d.update(pid=2 ** 31)))
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert rc == 0
    reasons = out["interfaces"]["eth0"]["health_reasons"]
    assert [r["code"] for r in reasons] == ["not_running"], reasons
    assert reasons[0]["msg"] == "daemon not running (process 2147483648 is gone)"

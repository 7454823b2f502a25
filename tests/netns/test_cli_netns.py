"""The real daemon process: refusals, exit codes, and the state file on disk.

From the checkout it runs as ``python3 -m igmp_querier.main``; the CAP_NET_RAW tests run the
package laid out as the querier role installs it on hosts (with its ``__main__.py``), as
``python3 -m igmp_querier``.

- a nonexistent interface exits non-zero, naming it and listing the interfaces there are;
- without CAP_NET_RAW it exits 77 saying which capability is needed and how to grant it;
- bad flags exit 2 with one line naming the flag (no root needed for these);
- the state file is mode 0644 whatever the umask, and replaced atomically (readers never see a
  partial file; every update is a new inode).
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from tests.netns import lab as netlab

PYTHONPATH = netlab.MODULE_UTILS


def _cli(*args, timeout=20):
    env = dict(os.environ, PYTHONPATH=netlab.daemon_pythonpath())
    return subprocess.run([sys.executable, "-m", "igmp_querier.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


BAD_FLAGS = [
    (["-i", "eth0", "-q", "0"], "--query-interval"),
    (["-i", "eth0", "-q", "10", "-r", "1", "-t", "10"], "--timeout"),
    (["-i", "eth0", "-r", "30"], "--max-response-time"),
    (["-i", "eth0", "-q", "5", "-r", "5"], "--max-response-time"),
    (["-i", "eth0", "-r", "0.25"], "--max-response-time"),
    (["-i", "eth0", "--robustness", "0"], "--robustness"),
    (["-i", "eth0", "--igmp-version", "4"], "--igmp-version"),
    (["-i", "eth0", "-q", "abc"], "--query-interval"),
    (["-i", "eth0", "--startup-query-count", "0"], "--startup-query-count"),
    (["-i", "this-name-is-too-long"], "--interface"),
    (["-i", "eth0", "--bogus"], "--bogus"),
    (["-q", "30"], "--interface"),
]


def test_bad_flags_exit_2_with_one_line_naming_the_flag():
    env = dict(os.environ, PYTHONPATH=netlab.daemon_pythonpath())
    procs = [(args, flag, subprocess.Popen([sys.executable, "-m", "igmp_querier.main", *args], env=env, text=True,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE))
             for args, flag in BAD_FLAGS]  # all at once: a Python start-up each
    failures = []
    for args, flag, proc in procs:
        out, err = proc.communicate(timeout=20)
        lines = err.splitlines()
        if proc.returncode != 2 or out or len(lines) != 1 or flag not in lines[0]:
            failures.append("%s -> exit %s, stdout %r, stderr %r" % (" ".join(args), proc.returncode, out, err))
    assert failures == []


def test_version_and_help():
    result = _cli("--version")
    assert result.returncode == 0 and result.stdout.strip().startswith("igmp-querier ")
    result = _cli("--help")
    assert result.returncode == 0
    for flag in ("--interface", "--query-interval", "--timeout", "--max-response-time", "--robustness",
                 "--startup-query-count", "--startup-query-interval", "--igmp-version", "--state-dir",
                 "--verbose", "--version"):
        assert flag in result.stdout


@pytest.mark.root
def test_nonexistent_interface_is_named_and_the_real_ones_listed(lab, tmp_path):
    host = lab.add_host("h", "10.0.0.1")
    host.ip("link", "add", "vx1", "type", "veth", "peer", "name", "vx2")
    result = host.exec("env", "PYTHONPATH=" + netlab.daemon_pythonpath(), sys.executable, "-m", "igmp_querier.main", "-i", "nope0",
                       "--state-dir", str(tmp_path / "s"), check=False)
    assert result.returncode not in (0, 2, 77), result
    message = result.stderr.strip().splitlines()
    assert len(message) == 1, result.stderr
    assert "'nope0'" in message[0] and "does not exist" in message[0]
    assert message[0].endswith("interfaces here: eth0, lo, vx1, vx2"), message[0]
    assert not os.path.exists(str(tmp_path / "s" / "nope0.json"))


def _world_readable_copy():
    """The package as the role installs it (with the role's ``__main__.py``), where user nobody
    can read it (the checkout may sit below /root)."""
    base = tempfile.mkdtemp(prefix="iq-cli-")
    os.chmod(base, 0o755)
    shutil.copytree(os.path.join(PYTHONPATH, "igmp_querier"), os.path.join(base, "igmp_querier"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(netlab.REPO, "roles", "querier", "files", "__main__.py"),
                os.path.join(base, "igmp_querier", "__main__.py"))
    for root, dirs, files in os.walk(base):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return base


def _system_python():
    """A python3 that user nobody can execute (a virtualenv below /root would not do)."""
    for candidate in ("/usr/bin/python3", sys.executable):
        probe = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", candidate,
                                "-c", "pass"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    pytest.skip("no python3 that user nobody may run")


@pytest.mark.root
@pytest.mark.parametrize("how", ["nobody", "root-without-cap"])
def test_without_cap_net_raw_exits_77_naming_the_capability(lab, how):
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux)")
    host = lab.add_host("h", "10.0.0.1")
    package = _world_readable_copy()
    try:
        if how == "nobody":
            drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all"]
            python = _system_python()
        else:  # root, but CAP_NET_RAW gone from the bounding set (as in a locked-down container)
            drop = ["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw"]
            python = sys.executable
        started = time.monotonic()
        result = host.exec(*drop, "env", "PYTHONPATH=" + package, python, "-m", "igmp_querier", "-i", "eth0",
                           "--state-dir", os.path.join(package, "state"), check=False)
    finally:
        shutil.rmtree(package, ignore_errors=True)
    assert result.returncode == 77, result
    assert time.monotonic() - started < 10
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "CAP_NET_RAW is required" in lines[0]
    assert "AmbientCapabilities=CAP_NET_RAW" in lines[0] and "setcap cap_net_raw+ep" in lines[0]


@pytest.mark.root
def test_state_file_mode_0644_and_replaced_atomically(lab):
    host = lab.add_host("q", "10.0.0.1")
    member = lab.add_host("m", "10.0.0.2")
    # umask 077 would make a plain open() 0600: the daemon must set 0644 itself.
    daemon = host.daemon(*netlab.FAST, wrapper=("sh", "-c", 'umask 077; exec "$@"', "sh"))
    daemon.wait_state(lambda s: s["queries_sent"] >= 1, 5, "first state")
    for n in range(8):  # group changes make more rewrites
        member.join("239.8.8.%d" % (n + 1))

    inodes, reads, errors = set(), 0, []
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        try:
            info = os.stat(daemon.state_path)
            document = netlab.statefile.read(daemon.state_path)
        except (OSError, netlab.statefile.StateError) as exc:
            errors.append(str(exc))
            continue
        reads += 1
        inodes.add(info.st_ino)
        assert stat.S_IMODE(info.st_mode) == 0o644, oct(info.st_mode)
        assert document["pid"] == daemon.pid
    assert errors == [], "%d of %d reads failed: %s" % (len(errors), reads + len(errors), errors[:3])
    assert reads > 200
    assert len(inodes) >= 3, "the file was rewritten in place, not replaced (inodes %s)" % inodes
    leftovers = [n for n in os.listdir(daemon.state_dir) if n not in ("eth0.json", "eth0.lock")]  # lock: one daemon per interface
    assert all(n.startswith(".eth0.json.") for n in leftovers), leftovers

    assert daemon.stop() == 0
    assert os.listdir(daemon.state_dir) == [], "files left after a clean exit"

"""Writing the state file into a directory that someone else may write: modes whatever the
umask, and no symlink (planted at the final name, or swapped in for the temp file while the daemon
writes) can change another file's mode or content. Real files in tmp_path; the cases that differ
between root and a normal user run in a child process as each."""

import json
import os
import shutil
import stat
import sys
import tempfile
import threading
import traceback

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import state

DOC = {"schema": 1, "interface": "eth0", "pid": 1}
NOBODY = 65534
USERS = ["root", "user"]


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def as_user(who, body, *args):
    """Run ``body(*args)`` in a child process as root or as an unprivileged user; re-raise a
    failure here. As a normal user already, only the "user" case runs."""
    if who == "root" and os.geteuid() != 0:
        pytest.skip("needs root")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        os.close(read_end)
        code = 0
        try:
            if who == "user" and os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            body(*args)
        except BaseException:
            os.write(write_end, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode(errors="replace")
    _pid, status = os.waitpid(pid, 0)
    assert status == 0, report


def owned_dir(path, who):
    os.mkdir(path)
    if who == "user" and os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    return path


@pytest.fixture
def workdir():
    """A directory the unprivileged child can reach (pytest's tmp_path parents are 0700)."""
    path = tempfile.mkdtemp(prefix="iq-state-write-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("umask", [0o000, 0o077, 0o022])
def test_state_file_is_0644_whatever_the_umask(workdir, who, umask):
    directory = owned_dir(os.path.join(workdir, "state"), who)
    path = os.path.join(directory, "eth0.json")

    def body():
        os.umask(umask)
        state.write(path, DOC)
        assert mode(path) == 0o644, oct(mode(path))
        assert os.listdir(directory) == ["eth0.json"]  # no temp file left

    as_user(who, body)


@pytest.mark.parametrize("who", USERS)
def test_state_dir_and_parents_created_0755_under_umask_000(workdir, who):
    parent = owned_dir(os.path.join(workdir, "run"), who)
    target = os.path.join(parent, "igmp", "eth0")

    def body():
        os.umask(0o000)
        state.make_state_dir(target)
        assert mode(target) == 0o755, oct(mode(target))
        assert mode(os.path.dirname(target)) == 0o755
        assert os.umask(0o000) == 0o000  # the process umask is given back

    as_user(who, body)


def test_an_existing_state_dir_keeps_its_mode(workdir):
    target = os.path.join(workdir, "private")
    os.mkdir(target, 0o700)
    os.chmod(target, 0o700)
    state.make_state_dir(target)
    assert mode(target) == 0o700


def test_a_file_in_the_way_of_the_state_dir_is_an_oserror(workdir):
    target = os.path.join(workdir, "file")
    open(target, "w").close()
    with pytest.raises(OSError):
        state.make_state_dir(target)


def victim_file(workdir):
    victim = os.path.join(workdir, "victim")
    with open(victim, "w") as handle:
        handle.write("secret\n")
    os.chmod(victim, 0o600)
    return victim


def assert_untouched(victim):
    assert mode(victim) == 0o600, "victim chmodded to %o" % mode(victim)
    with open(victim) as handle:
        assert handle.read() == "secret\n"


def test_symlink_at_the_final_name_is_replaced_not_followed(workdir):
    victim = victim_file(workdir)
    directory = os.path.join(workdir, "state")
    os.mkdir(directory)
    os.chmod(directory, 0o1777)  # anyone may plant names here
    path = os.path.join(directory, "eth0.json")
    os.symlink(victim, path)
    state.write(path, DOC)
    assert_untouched(victim)
    assert not os.path.islink(path) and mode(path) == 0o644
    with open(path) as handle:
        assert json.load(handle) == DOC


def test_symlink_or_hard_link_at_other_names_is_left_alone(workdir):
    victim = victim_file(workdir)
    directory = os.path.join(workdir, "state")
    os.mkdir(directory)
    for name in (".eth0.json.", ".eth0.json.tmp", "eth0.json.tmp", ".eth0.json.x"):
        os.symlink(victim, os.path.join(directory, name))
    os.link(victim, os.path.join(directory, ".eth0.json.hard"))
    for _round in range(50):
        state.write(os.path.join(directory, "eth0.json"), DOC)
    assert_untouched(victim)


def _race(directory, victim, writes):
    """An attacker thread swaps every temp file it sees for a symlink to ``victim`` while
    ``writes`` state files are written; returns how many swaps it made."""
    path = os.path.join(directory, "eth0.json")
    stop = threading.Event()
    swaps = [0]

    def attacker():
        while not stop.is_set():
            for name in os.listdir(directory):
                if name.startswith(".eth0.json.") and not name.endswith(".moved"):
                    temp = os.path.join(directory, name)
                    try:
                        os.rename(temp, temp + ".moved")
                        os.symlink(victim, temp)
                        swaps[0] += 1
                    except OSError:
                        pass

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    try:
        for _write in range(writes):
            try:
                state.write(path, DOC)
            except OSError:
                pass  # the attacker may take the temp file away under us: that write is lost
    finally:
        stop.set()
        thread.join(5)
        sys.setswitchinterval(old_interval)
    return swaps[0]


@pytest.mark.parametrize("who", USERS)
def test_racing_symlink_swap_cannot_chmod_or_overwrite_another_file(workdir, who):
    """The attack of issue 8 (7): root writes into a state dir another user can write; the
    attacker swaps the temp file for a symlink between create and chmod/rename. As root the
    victim is a root-only file; as a normal user, one of that user's own private files."""
    victim = victim_file(workdir)
    directory = os.path.join(workdir, "state")
    os.mkdir(directory)
    os.chmod(directory, 0o1777 if who == "root" else 0o777)
    if who == "user" and os.geteuid() == 0:
        os.chown(victim, NOBODY, NOBODY)

    def body():
        swaps = _race(directory, victim, 400)
        assert swaps > 10, "the race never ran (%d swaps)" % swaps
        assert_untouched(victim)

    as_user(who, body)

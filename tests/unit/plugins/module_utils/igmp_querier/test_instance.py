"""One daemon per interface and state dir: the flock'd lock file, with real files and a real
second process holding the lock."""

import os
import stat

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import instance
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.instance import AlreadyRunning, LockError


def test_the_lock_holds_our_pid_and_a_second_taker_gets_it(tmp_path):
    fd = instance.acquire(str(tmp_path), "eth0")
    try:
        with open(instance.lock_path(str(tmp_path), "eth0")) as handle:
            assert handle.read() == "%d\n" % os.getpid()
        with pytest.raises(AlreadyRunning) as caught:
            instance.acquire(str(tmp_path), "eth0")
        assert caught.value.pid == os.getpid()
        assert "eth0" in str(caught.value) and "PID %d" % os.getpid() in str(caught.value)
        os.close(instance.acquire(str(tmp_path), "eth1"))  # another interface: a lock of its own
    finally:
        os.close(fd)
    os.close(instance.acquire(str(tmp_path), "eth0"))  # released with the descriptor


def test_a_lock_held_by_another_process_names_that_process_and_dies_with_it(tmp_path):
    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            instance.acquire(str(tmp_path), "eth0")
            os.write(ready_w, b"x")
            os.read(stop_r, 1)
        finally:
            os._exit(0)
    os.read(ready_r, 1)
    try:
        with pytest.raises(AlreadyRunning) as caught:
            instance.acquire(str(tmp_path), "eth0")
        assert caught.value.pid == pid
    finally:
        os.write(stop_w, b"x")
        os.waitpid(pid, 0)
    os.close(instance.acquire(str(tmp_path), "eth0"))  # the kernel dropped the dead holder's lock
    for end in (ready_r, ready_w, stop_r, stop_w):
        os.close(end)


def test_a_holder_that_wrote_garbage_is_reported_without_a_pid(tmp_path):
    path = instance.lock_path(str(tmp_path), "eth0")
    fd = instance.acquire(str(tmp_path), "eth0")
    try:
        os.pwrite(fd, b"\x00\xff not a pid" * 10, 0)
        with pytest.raises(AlreadyRunning) as caught:
            instance.acquire(str(tmp_path), "eth0")
        assert caught.value.pid is None and "PID unknown" in str(caught.value) and path in str(caught.value)
    finally:
        os.close(fd)


def _victim(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("secret\n")
    victim.chmod(0o600)
    return victim


def test_a_symlink_at_the_lock_name_is_refused_and_its_target_untouched(tmp_path):
    victim = _victim(tmp_path)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    os.symlink(str(victim), instance.lock_path(str(state_dir), "eth0"))
    with pytest.raises(LockError) as caught:
        instance.acquire(str(state_dir), "eth0")
    assert "symlink" in str(caught.value)
    assert victim.read_text() == "secret\n" and stat.S_IMODE(victim.stat().st_mode) == 0o600


def test_a_hard_link_at_the_lock_name_is_refused_and_its_target_untouched(tmp_path):
    victim = _victim(tmp_path)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    os.link(str(victim), instance.lock_path(str(state_dir), "eth0"))
    with pytest.raises(LockError) as caught:
        instance.acquire(str(state_dir), "eth0")
    assert "one link" in str(caught.value)
    assert victim.read_text() == "secret\n"


def test_a_directory_at_the_lock_name_is_a_clear_error(tmp_path):
    os.mkdir(instance.lock_path(str(tmp_path), "eth0"))
    with pytest.raises(LockError, match="cannot open lock file"):
        instance.acquire(str(tmp_path), "eth0")


def test_release_removes_the_file_and_frees_the_lock(tmp_path):
    fd = instance.acquire(str(tmp_path), "eth0")
    instance.release(fd, str(tmp_path), "eth0")
    assert os.listdir(str(tmp_path)) == []
    instance.release(instance.acquire(str(tmp_path), "eth0"), str(tmp_path), "eth0")


def test_acquire_and_release_in_a_loop_never_let_two_processes_hold_it(tmp_path):
    """Four processes take and release the lock 100 times each; a marker created O_EXCL inside
    the locked section shows any overlap (a release that removes the file must not let one
    process lock the removed file while another locks its successor)."""
    marker = str(tmp_path / "inside")
    children = []
    for _round in range(4):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                held = 0
                while held < 100:
                    try:
                        fd = instance.acquire(str(tmp_path), "eth0")
                    except AlreadyRunning:
                        continue
                    try:
                        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                    except FileExistsError:
                        code = 3  # someone else is inside: two holders at once
                    else:
                        os.unlink(marker)
                    instance.release(fd, str(tmp_path), "eth0")
                    held += 1
            except BaseException:
                code = 4
            os._exit(code)
        children.append(pid)
    codes = [os.waitpid(pid, 0)[1] for pid in children]
    assert codes == [0, 0, 0, 0], [c >> 8 for c in codes]

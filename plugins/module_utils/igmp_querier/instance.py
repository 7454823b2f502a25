# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""One daemon per interface and state directory: ``<state-dir>/<interface>.lock``.

The daemon holds an exclusive ``flock`` on that file for its whole life and writes its PID in
it; a second daemon for the same interface and state dir finds the lock taken and stops with the
first one's PID. The kernel drops the lock when the holder exits, however it exits, so a stale
file never blocks a restart; a clean exit also removes the file. The file is opened with
O_NOFOLLOW and must be a regular file with one link, so a symlink or hard link planted there
cannot make the daemon write to another file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from typing import Optional


class LockError(Exception):
    """The lock file cannot be used (exit 1); the message says why."""


class AlreadyRunning(LockError):
    """Another daemon holds the lock."""

    def __init__(self, message: str, pid: Optional[int]) -> None:
        super().__init__(message)
        self.pid = pid


def lock_path(state_dir: str, interface: str) -> str:
    return os.path.join(state_dir, interface + ".lock")


def _holder(fd: int) -> Optional[int]:
    """The PID the holder wrote (None when the file holds no plausible PID)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.isdigit() or len(text) > 10:
        return None
    pid = int(text)
    return pid if 0 < pid < 1 << 22 else None


def acquire(state_dir: str, interface: str) -> int:
    """Take the lock of ``interface`` in ``state_dir``; return the descriptor to keep open.

    Raises :class:`AlreadyRunning` when another daemon holds it, :class:`LockError` otherwise.
    """
    path = lock_path(state_dir, interface)
    for _attempt in range(100):
        fd = _open(path)
        try:
            taken = _lock(fd, path, interface)
        except BaseException:
            os.close(fd)
            raise
        if taken:
            return fd
        os.close(fd)  # the holder removed this file as it exited: take the new one
    raise LockError("lock file %s keeps being replaced; is another daemon restarting in a loop?" % path)


def _open(path: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        return os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LockError("lock file %s is a symlink: refused (remove it)" % path)
        raise LockError("cannot open lock file %s: %s" % (path, exc.strerror))


def _lock(fd: int, path: str, interface: str) -> bool:
    """Lock ``fd`` and write our PID; False when ``path`` no longer names this file."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
        raise LockError("lock file %s is not a plain file with one link; remove it" % path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _holder(fd)
        raise AlreadyRunning("an IGMP querier is already running on %s (PID %s, lock %s); "
                             "stop it first or give this one another --state-dir"
                             % (interface, pid if pid is not None else "unknown", path), pid)
    except OSError as exc:
        raise LockError("cannot lock %s: %s" % (path, exc.strerror))
    if not _names(path, fd):
        return False
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"%d\n" % os.getpid(), 0)
    except OSError as exc:
        raise LockError("cannot write lock file %s: %s" % (path, exc.strerror))
    return True


def _names(path: str, fd: int) -> bool:
    """True when ``path`` is (still) the file open as ``fd``."""
    try:
        current = os.lstat(path)
    except OSError:
        return False
    info = os.fstat(fd)
    return (current.st_dev, current.st_ino) == (info.st_dev, info.st_ino)


def release(fd: int, state_dir: str, interface: str) -> None:
    """Remove the lock file (while still holding it, so no successor can hold a removed file:
    :func:`acquire` retries when its file was removed) and drop the lock."""
    path = lock_path(state_dir, interface)
    try:
        if _names(path, fd):
            os.unlink(path)
    except OSError:
        pass
    os.close(fd)

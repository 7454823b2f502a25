"""Fixtures for the network-namespace integration tests (root only; see lab.py).

``lab``: a fresh bridge namespace (snooping on, no querier, membership interval
``lab.MEMBERSHIP_INTERVAL`` s) whose logs and state files live in the test's tmp_path; every
namespace and process it made is gone when the test ends, pass or fail.
"""

import os

import pytest

from tests.netns import lab as netlab

_reason = None
_checked = False


def lab_unavailable():
    """Why these tests cannot run here, or None (checked once per session)."""
    global _reason, _checked
    if not _checked:
        _reason = netlab.unavailable_reason()
        _checked = True
    return _reason


@pytest.fixture
def lab(tmp_path):
    reason = lab_unavailable()
    if reason:
        pytest.skip("network-namespace lab unavailable: %s" % reason)
    os.chmod(str(tmp_path), 0o755)  # logs and state dirs, readable by the daemon under any user
    with netlab.Lab(membership_interval=netlab.MEMBERSHIP_INTERVAL, workdir=str(tmp_path)) as the_lab:
        yield the_lab

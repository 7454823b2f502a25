"""Which address source the tests exercise: netifaces (what the role installs) or, with
MULTICAST_IGMP_NO_NETIFACES=1, netif.py's SIOCGIFADDR fallback. These fail when the switch
does not do what it says, in this process or in the children the tests start."""

import importlib.util
import os
import subprocess
import sys

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import netif

from tests import conftest

CHILD = ("import sys\n"
         "from igmp_querier import netif\n"
         "print('ioctl' if netif.netifaces is None else 'netifaces', netif.ipv4_address('lo'))\n")


def expected_source():
    return "ioctl" if conftest.NO_NETIFACES else "netifaces"


def test_this_process_uses_the_source_the_run_asked_for():
    if conftest.NO_NETIFACES:
        assert netif.netifaces is None, "MULTICAST_IGMP_NO_NETIFACES=1 but netif imported netifaces"
        assert importlib.util.find_spec("netifaces").origin.startswith(conftest.NO_NETIFACES_DIR)
    else:
        assert netif.netifaces is not None, (
            "netifaces is not importable here; CI installs it everywhere (set MULTICAST_IGMP_NO_NETIFACES=1 "
            "to test the fallback on purpose)")


def test_a_daemon_child_uses_the_same_source_and_finds_the_loopback_address():
    # The way the netns lab and the CLI tests start the daemon (lab.daemon_pythonpath).
    from tests.netns import lab as netlab

    env = dict(os.environ, PYTHONPATH=netlab.daemon_pythonpath(), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [expected_source(), "127.0.0.1"]


def test_both_sources_read_the_loopback_address():
    assert netif.ipv4_address("lo") == "127.0.0.1"
    assert netif.ipv4_address("no-such-if0") is None

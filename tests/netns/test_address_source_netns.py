"""The daemon the netns tests start reads its address from the source the run asked for:
netifaces' C extension is mapped into the daemon process, or with MULTICAST_IGMP_NO_NETIFACES=1
it is not (netif.py's SIOCGIFADDR fallback), and either way it queries from its address."""

import pytest

from tests import conftest
from tests.netns import lab as netlab

pytestmark = pytest.mark.root


def _mapped_files(pid):
    with open("/proc/%d/maps" % pid) as maps:
        return {line.split(None, 5)[5].strip() for line in maps if len(line.split(None, 5)) == 6}


def test_the_daemon_uses_the_address_source_of_the_run(lab):
    host = lab.add_host("h1", "10.0.0.9")
    daemon = host.daemon(*netlab.FAST)
    daemon.wait_state(lambda s: s["role"] == "querier", 8.0, "role querier")
    netifaces_libs = sorted(path for path in _mapped_files(daemon.pid) if "netifaces" in path)
    if conftest.NO_NETIFACES:
        assert netifaces_libs == [], "MULTICAST_IGMP_NO_NETIFACES=1 but the daemon loaded %s" % netifaces_libs
    else:
        assert netifaces_libs, "the daemon did not load netifaces (CI installs it)"
    assert daemon.state()["querier"] == "10.0.0.9"

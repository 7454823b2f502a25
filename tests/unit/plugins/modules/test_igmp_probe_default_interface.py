"""igmp_probe mode=receive without interface or source joins on the default route's interface,
like mode=send and the querier role; the module runs in its own network namespace (root)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import netif
from tests.helpers import collections_root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE = os.path.join(REPO, "plugins", "modules", "igmp_probe.py")
NETNS = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"),
                           reason="needs root, unshare and ip: the module runs in a new network namespace")
HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"


@pytest.mark.parametrize("rows, expected", [
    (["eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
      "wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
      "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0"], "eth0"),
    (["eth0\t00000000\t010200C0\t0003\t0\t0\t700\t00000000\t0\t0\t0",
      "br-lan\t00000000\t0102A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0"], "br-lan"),
    (["eth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0"], None),  # not RTF_UP
    (["docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0", "garbage", ""], None),
])
def test_default_route_interface_from_the_routing_table(tmp_path, rows, expected):
    table = tmp_path / "route"
    table.write_text(HEADER + "\n".join(rows) + "\n")
    assert netif.default_route_interface(str(table)) == expected


def test_no_routing_table_means_no_default():
    assert netif.default_route_interface("/nonexistent/route") is None


def _receive_in_netns(tmp_path, setup):
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"mode": "receive", "group": "239.1.2.3", "duration": 0.3}}))
    script = "ip link set lo up && %s exec %s %s %s" % (setup, sys.executable, MODULE, args)
    proc = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=collections_root()), check=False)
    return json.loads(proc.stdout)


@NETNS
def test_receive_without_interface_joins_on_the_default_route_interface(tmp_path):
    result = _receive_in_netns(tmp_path, "ip route add default dev lo &&")
    assert not result.get("failed"), result
    assert result["interface"] == "lo"
    assert result["msg"] == "received no probes of 239.1.2.3:59559 on lo in 0 s (count not given: loss unknown)"


@NETNS
def test_receive_without_a_default_route_asks_for_an_interface(tmp_path):
    result = _receive_in_netns(tmp_path, "")
    assert result["failed"] is True
    assert result["msg"] == ("mode is receive, and this host has no IPv4 default route to pick an interface from: "
                             "set interface or source")

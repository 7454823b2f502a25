"""Shared helpers for the testinfra tests of the molecule scenarios (<scenario>/tests/ here).

Molecule runs these tests on the Docker host, as root, with MOLECULE_INVENTORY_FILE set. They
reach the containers three ways:
- testinfra hosts from the inventory (``host`` fixture, ``get_host``), which run commands with
  ``docker exec`` and Ansible modules (``host.ansible``) with the collection under test;
- ``docker`` itself, to stop, kill or disconnect a container the way a dead host goes away;
- a capture on the Docker host of what the bridge delivers to the member container, decoded by
  scapy (the test oracle, independent of our codec).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import threading
import time
from typing import Callable, Dict, List, NamedTuple, Optional

import pytest
import testinfra
import testinfra.utils.ansible_runner
import yaml

from tests.helpers import wait_until

INVENTORY_FILE = os.environ.get("MOLECULE_INVENTORY_FILE", "")
UNIT = "igmp-querier@eth0.service"
STATE_FILE = "/run/igmp-querier/eth0/eth0.json"
QUERIERS_GROUP = "igmp_queriers"
MEMBERS_GROUP = "igmp_members"
RELEASES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shared", "vars", "releases.yml")


def runner() -> testinfra.utils.ansible_runner.AnsibleRunner:
    if not INVENTORY_FILE:
        pytest.skip("not run by molecule (MOLECULE_INVENTORY_FILE is not set)")
    return testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY_FILE)


def hosts_of(group: str) -> List[str]:
    if not INVENTORY_FILE:
        return []
    return sorted(runner().get_hosts(group))


def get_host(name: str):
    return testinfra.get_host("ansible://" + name, ansible_inventory=INVENTORY_FILE)


def host_vars(name: str) -> dict:
    return runner().get_variables(name)


def platform_release(name: str) -> int:
    """The Debian release the scenario's molecule.yml gives the platform (its image, or the default)."""
    with open(RELEASES_FILE) as f:
        releases = yaml.safe_load(f)
    by_image = {r["container"]["image"]: int(number) for number, r in releases["releases"].items()}
    with open(os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "molecule.yml")) as f:
        platforms = {p["name"]: p for p in yaml.safe_load(f)["platforms"]}
    image = platforms[name].get("image")
    return by_image[image] if image else int(releases["default"])


def booted_release(host) -> int:
    """The Debian release a container runs, from its /etc/os-release (VERSION_ID)."""
    fields = dict(line.split("=", 1) for line in host.file("/etc/os-release").content_string.splitlines() if "=" in line)
    return int(fields["VERSION_ID"].strip('"'))


def docker(*args: str, check: bool = True, timeout: float = 60) -> str:
    """Run the docker CLI on the Docker host; return its stdout."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError("docker %s failed (%d): %s" % (" ".join(args), done.returncode, done.stderr.strip()))
    return done.stdout.strip()


def network_of(container: str) -> str:
    """The (only) Docker network of a scenario container."""
    names = docker("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", container).split()
    assert len(names) == 1, "%s should be on exactly one network, is on %s" % (container, names)
    return names[0]


def address_of(container: str) -> str:
    """The IPv4 address Docker gave the container (fixed in molecule.yml)."""
    address = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container)
    assert address, "%s has no IPv4 address" % container
    return address


def bridge_of(network: str) -> str:
    """The Linux bridge on the Docker host behind a Docker network."""
    name = docker("network", "inspect", "-f", '{{index .Options "com.docker.network.bridge.name"}}', network)
    if not name or name == "<no value>":
        name = "br-" + docker("network", "inspect", "-f", "{{.Id}}", network)[:12]
    return name


def bridge_setting(bridge: str, name: str) -> int:
    with open("/sys/class/net/%s/bridge/%s" % (bridge, name)) as f:
        return int(f.read())


def host_side_veth(container: str) -> str:
    """The Docker host's end of the container's eth0 (what the bridge delivers to the container)."""
    peer_index = int(docker("exec", container, "cat", "/sys/class/net/eth0/iflink"))
    return socket.if_indextoname(peer_index)


def numeric_lowest(addresses: Dict[str, str]) -> str:
    """Key of the numerically lowest address (the IGMP election winner)."""
    return min(addresses, key=lambda k: ipaddress.IPv4Address(addresses[k]))


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.5, what: str = "condition"):
    """tests.helpers.wait_until at a pace for containers; AssertionError on timeout."""
    return wait_until(predicate, timeout, what, interval)


def journal(container: str, lines: int = 40) -> str:
    return docker("exec", container, "journalctl", "-u", UNIT, "-n", str(lines), "--no-pager", check=False)


class Query(NamedTuple):
    time: float  # capture timestamp (kernel), seconds since the epoch
    source: str
    destination: str
    version: int  # 1, 2 or 3 as scapy's IGMP layers tell them apart
    group: str  # 0.0.0.0 for a General Query


class QuerySniffer:
    """Every IGMP query the bridge delivers to one container, timestamped by the kernel."""

    def __init__(self, interface: str):
        from scapy.all import AsyncSniffer  # the test oracle; imported late: slow to load

        self.interface = interface
        self._lock = threading.Lock()
        self._queries: List[Query] = []
        self._sniffer = AsyncSniffer(iface=interface, store=False, prn=self._packet, lfilter=_is_igmp_query)

    def __enter__(self) -> "QuerySniffer":
        self._sniffer.start()
        time.sleep(0.5)  # the capture socket is open once start() returned and the thread runs
        return self

    def __exit__(self, *exc) -> None:
        self._sniffer.stop()

    def _packet(self, packet) -> None:
        query = _decode_query(packet)
        if query is not None:
            with self._lock:
                self._queries.append(query)

    def queries(self, since: float = 0.0, source: Optional[str] = None) -> List[Query]:
        with self._lock:
            return [q for q in self._queries if q.time >= since and (source is None or q.source == source)]

    def first(self, since: float, source: Optional[str] = None) -> Optional[Query]:
        found = self.queries(since, source)
        return found[0] if found else None

    def last(self, source: str, before: float) -> Optional[Query]:
        found = [q for q in self.queries(0.0, source) if q.time <= before]
        return found[-1] if found else None


def _is_igmp_query(packet) -> bool:
    from scapy.layers.inet import IP

    return IP in packet and packet[IP].proto == 2 and bytes(packet[IP].payload)[:1] == b"\x11"


def _decode_query(packet) -> Optional[Query]:
    from scapy.contrib.igmp import IGMP
    from scapy.contrib.igmpv3 import IGMPv3, IGMPv3mq
    from scapy.layers.inet import IP

    ip = packet[IP]
    payload = bytes(ip)[ip.ihl * 4:ip.len]  # the IGMP message without Ethernet padding
    if len(payload) >= 12:
        igmp = IGMPv3(payload)
        version, group = 3, igmp[IGMPv3mq].gaddr if IGMPv3mq in igmp else "0.0.0.0"
    else:
        igmp = IGMP(payload)
        version, group = (1 if igmp.mrcode == 0 else 2), igmp.gaddr
    return Query(float(packet.time), ip.src, ip.dst, version, group)

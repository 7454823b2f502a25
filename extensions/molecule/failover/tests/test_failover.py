"""failover scenario: the elected querier goes away; the next-lowest takes over after the timeout.

The clock is a capture on the Docker host of every query the bridge delivers to the member
container (kernel timestamps, decoded by scapy), so "who queried when" is what the member saw.
Three ways to lose the querier, each followed by its return:

- its service stops (systemctl stop): the daemon exits cleanly;
- its host's network is cut (docker network disconnect): the host is alive but unreachable;
- its host dies (docker kill, SIGKILL to every process, then docker start).

For each: no query from anyone else until the timeout has passed since the last query of the
winner; the next-lowest address queries within the timeout plus 2 s of the loss; after that it
is the only querier; when the winner returns, the others stop at its first query.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import (
    INVENTORY_FILE,
    MEMBERS_GROUP,
    QUERIERS_GROUP,
    UNIT,
    QuerySniffer,
    address_of,
    booted_release,
    docker,
    get_host,
    host_side_veth,
    host_vars,
    hosts_of,
    journal,
    network_of,
    platform_release,
    wait_for,
)

QUERIERS = hosts_of(QUERIERS_GROUP)
MEMBERS = hosts_of(MEMBERS_GROUP)

MARGIN = 2.0  # the takeover must come within the timeout plus this, counted from the loss
JITTER = 0.25  # timer and scheduling slack for "not before the timeout"
RESULTS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"), "failover-results.json")


class Lan:
    def __init__(self):
        self.addresses = {name: address_of(name) for name in QUERIERS}
        ranked = sorted(QUERIERS, key=lambda n: ipaddress.IPv4Address(self.addresses[n]))
        self.winner, self.next = ranked[0], ranked[1]
        self.winner_address = self.addresses[self.winner]
        self.next_address = self.addresses[self.next]
        self.network = network_of(self.winner)
        self.gateway = docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", self.network)
        settings = host_vars(self.winner)
        self.timeout = float(settings["igmp_querier_timeout"])
        self.interval = float(settings["igmp_querier_query_interval"])
        self.results = []


@pytest.fixture(scope="module")
def lan():
    lan = Lan()
    yield lan
    with open(RESULTS, "w") as f:
        json.dump(lan.results, f, indent=2)
    print("\nFAILOVER SUMMARY (timeout %.1f s, query interval %.1f s):" % (lan.timeout, lan.interval))
    for r in lan.results:
        print("  %-16s takeover %.2f s after the loss, %.2f s after the winner's last query; "
              "winner back: %s" % (r["how"], r["delay_from_loss"], r["delay_from_last_query"],
                                   "others silent from its first query" if r["others_after_return"] == 0
                                   else "others queried %d more times" % r["others_after_return"]))


@pytest.fixture(scope="module")
def sniffer():
    with QuerySniffer(host_side_veth(MEMBERS[0])) as capture:
        yield capture


@pytest.fixture(autouse=True)
def winner_back(lan):
    """Whatever a test did to the winner, it is up, connected and running its querier after it."""
    yield
    if docker("inspect", "-f", "{{.State.Running}}", lan.winner) != "true":
        docker("start", lan.winner)
    if lan.network not in docker("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
                                 lan.winner).split():
        _reconnect(lan)
    wait_for(lambda: docker("exec", lan.winner, "systemctl", "is-system-running", check=False)
             in ("running", "degraded"), timeout=60, what="systemd in %s" % lan.winner)
    docker("exec", lan.winner, "systemctl", "start", UNIT)


def _settled(lan, sniffer) -> bool:
    """The winner queries and nobody else has for two query intervals."""
    now = time.time()
    recent = sniffer.queries(since=now - 2 * lan.interval - 0.5)
    return bool(recent) and {q.source for q in recent} == {lan.winner_address} and \
        recent[-1].time > now - lan.interval - 0.5


def _failover(lan, sniffer, how, lose, restore):
    wait_for(lambda: _settled(lan, sniffer), timeout=6 * lan.interval + 20, interval=0.5,
             what="%s to be the only querier" % lan.winner)

    t_loss = time.time()
    lose()
    takeover = wait_for(lambda: sniffer.first(t_loss, lan.next_address), timeout=lan.timeout + MARGIN + 10,
                        interval=0.1, what="%s to take over" % lan.next)
    last = sniffer.last(lan.winner_address, before=takeover.time)
    assert last is not None
    delay_from_loss = takeover.time - t_loss
    delay_from_last = takeover.time - last.time
    early = [q for q in sniffer.queries(since=last.time + 1e-6)
             if q.source != lan.winner_address and q.time < last.time + lan.timeout - JITTER]
    print("\n%s: loss at %.3f, winner's last query %.3f, first query of %s %.3f: "
          "takeover %.2f s after the loss, %.2f s after the last query (timeout %.1f s)" % (
              how, t_loss, last.time, lan.next_address, takeover.time, delay_from_loss, delay_from_last,
              lan.timeout))
    assert not early, "queries before the timeout had passed: %s" % early
    assert delay_from_last >= lan.timeout - JITTER
    assert delay_from_loss <= lan.timeout + MARGIN, (
        "takeover %.2f s after the loss, allowed %.1f s" % (delay_from_loss, lan.timeout + MARGIN))

    # The next-lowest stays the only querier (a higher one may have fired at the same instant
    # and then yielded to it).
    time.sleep(2 * lan.interval + 1)
    after = sniffer.queries(since=takeover.time + 1.0)
    assert after and {q.source for q in after} == {lan.next_address}, after
    status = get_host(lan.next).ansible("multicast.igmp.igmp_status", "interface=eth0", check=False)
    eth0 = status["interfaces"]["eth0"]
    print("%s after the takeover: %s" % (lan.next, eth0["msg"]))
    assert eth0["is_querier"] and eth0["role"] == "querier", eth0["msg"]

    # The winner comes back; the others stop at its first query.
    t_back = time.time()
    restore()
    back = wait_for(lambda: sniffer.first(t_back, lan.winner_address), timeout=60, interval=0.2,
                    what="%s to query again" % lan.winner)
    time.sleep(2 * lan.interval + 1)
    others = [q for q in sniffer.queries(since=back.time) if q.source != lan.winner_address]
    backoff = (others[-1].time - back.time) if others else 0.0
    print("%s: %s queries again %.2f s after the restore; queries from others after its first: %s" % (
        how, lan.winner, back.time - t_back, ["%s +%.2f s" % (q.source, q.time - back.time) for q in others]))
    assert backoff < 0.5, "others kept querying after the winner's return: %s" % others
    lan.results.append(dict(how=how, timeout=lan.timeout, delay_from_loss=round(delay_from_loss, 3),
                            delay_from_last_query=round(delay_from_last, 3), others_after_return=len(others),
                            backoff=round(backoff, 3)))


def test_the_takeover_crosses_releases(lan):
    """The winner and the next-lowest boot the Debian releases molecule.yml gives them, two different ones."""
    releases = {name: booted_release(get_host(name)) for name in (lan.winner, lan.next)}
    print("\nwinner %s on Debian %d, next-lowest %s on Debian %d" % (
        lan.winner, releases[lan.winner], lan.next, releases[lan.next]))
    assert releases == {name: platform_release(name) for name in releases}
    assert releases[lan.winner] != releases[lan.next]


def test_service_stop(lan, sniffer):
    def lose():
        docker("exec", lan.winner, "systemctl", "stop", UNIT)

    def restore():
        docker("exec", lan.winner, "systemctl", "start", UNIT)

    try:
        _failover(lan, sniffer, "service stopped", lose, restore)
    except AssertionError:
        print(journal(lan.winner, 15), journal(lan.next, 15))
        raise


def _reconnect(lan):
    """Reconnect the winner with its address; name the new interface eth0 again.

    Docker names the interface of a reconnected network eth1; a host whose cable is plugged
    back in finds its eth0 again, so rename it from the Docker host (the container has no
    CAP_NET_ADMIN) and restore its default route.
    """
    docker("network", "connect", "--ip", lan.winner_address, lan.network, lan.winner)
    pid = docker("inspect", "-f", "{{.State.Pid}}", lan.winner)
    names = docker("exec", lan.winner, "ls", "/sys/class/net").split()
    new = [n for n in names if n not in ("lo", "eth0")]
    if "eth0" not in names and new:
        script = "ip link set {0} down && ip link set {0} name eth0 && ip link set eth0 up && " \
                 "ip route replace default via {1}".format(new[0], lan.gateway)
        subprocess.run(["nsenter", "-t", pid, "-n", "sh", "-c", script], check=True)


def test_network_cut(lan, sniffer):
    def lose():
        docker("network", "disconnect", lan.network, lan.winner)

    try:
        _failover(lan, sniffer, "network cut", lose, lambda: _reconnect(lan))
    except AssertionError:
        print(journal(lan.winner, 15), journal(lan.next, 15))
        raise


def test_host_dies(lan, sniffer):
    def lose():
        docker("kill", lan.winner)

    def restore():
        docker("start", lan.winner)

    try:
        _failover(lan, sniffer, "host killed", lose, restore)
    except AssertionError:
        print(journal(lan.winner, 15), journal(lan.next, 15))
        raise


def _status_playbook(lan):
    """``ansible-playbook multicast.igmp.status`` over the queriers: (exit status, output)."""
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    done = subprocess.run([playbook, "-i", INVENTORY_FILE, "multicast.igmp.status", "-e",
                           "igmp_status_hosts=%s" % QUERIERS_GROUP], capture_output=True, text=True, timeout=300,
                          check=False)
    return done.returncode, done.stdout + done.stderr


def test_status_fails_while_the_winner_is_stopped_and_passes_after_it_returns(lan, sniffer):
    wait_for(lambda: _settled(lan, sniffer), timeout=6 * lan.interval + 20, interval=0.5,
             what="%s to be the only querier" % lan.winner)
    rc, output = _status_playbook(lan)
    assert rc == 0, output[-3000:]
    network = lan.winner_address.rsplit(".", 1)[0] + ".0"
    assert "LAN %s/24: querier %s (%s eth0)" % (network, lan.winner_address, lan.winner) in output, output[-3000:]

    docker("exec", lan.winner, "systemctl", "stop", UNIT)
    command = get_host(lan.winner).run("igmp-querier status eth0")
    print("%s with its daemon stopped: igmp-querier status -> %d: %s" % (lan.winner, command.rc, command.stdout))
    assert command.rc == 2 and "daemon not running" in command.stdout, command.stdout
    rc, output = _status_playbook(lan)
    print("status with %s stopped: rc %d\n%s" % (lan.winner, rc, output[output.find("LAN "):][:1500]))
    assert rc != 0, output[-3000:]
    assert "%s eth0: daemon not running" % lan.winner in output, output[-3000:]

    t_back = time.time()
    docker("exec", lan.winner, "systemctl", "start", UNIT)
    wait_for(lambda: sniffer.first(t_back, lan.winner_address), timeout=60, interval=0.2,
             what="%s to query again" % lan.winner)
    wait_for(lambda: _settled(lan, sniffer), timeout=6 * lan.interval + 20, interval=0.5,
             what="%s to be the only querier again" % lan.winner)
    rc, output = _status_playbook(lan)
    assert rc == 0, output[-3000:]
    assert get_host(lan.winner).run("igmp-querier status eth0").rc == 0

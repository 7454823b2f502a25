"""default scenario: the querier role on three hosts, one member, one snooping bridge.

Also the lab scenario's verifier (lab/molecule.yml points here): the same checks hold
for the rollout with the multicast.igmp.site playbook.
"""

from __future__ import annotations

import ipaddress
import json
import re

import pytest
from conftest import (
    MEMBERS_GROUP,
    QUERIERS_GROUP,
    STATE_FILE,
    UNIT,
    address_of,
    booted_release,
    get_host,
    host_vars,
    hosts_of,
    journal,
    numeric_lowest,
    platform_release,
    wait_for,
)

QUERIERS = hosts_of(QUERIERS_GROUP)
MEMBERS = hosts_of(MEMBERS_GROUP)
testinfra_hosts = QUERIERS  # the tests with a `host` argument run once per querier

CAP_NET_RAW = 1 << 13
#: systemd-analyze security's exposure score of the unit, the most allowed per Debian release
#: (measured: 1.5 with systemd 247, 252 and 257 alike).
MAX_EXPOSURE = {11: 1.5, 12: 1.5, 13: 1.5}


def _status(name: str, **args) -> dict:
    """igmp_status of eth0 on one host, through Ansible with the collection under test."""
    module_args = " ".join("%s=%s" % item for item in dict(interface="eth0", **args).items())
    result = get_host(name).ansible("multicast.igmp.igmp_status", module_args, check=False)
    assert not result.get("failed"), "igmp_status failed on %s: %s" % (name, result.get("msg"))
    return result["interfaces"]["eth0"]


@pytest.fixture(scope="module")
def addresses() -> dict:
    return {name: address_of(name) for name in QUERIERS}


@pytest.fixture(scope="module")
def winner(addresses) -> str:
    return numeric_lowest(addresses)


@pytest.fixture(scope="module")
def query_interval() -> float:
    return float(host_vars(QUERIERS[0]).get("igmp_querier_query_interval", 125))


def test_addresses_would_trap_a_string_comparison(addresses, winner):
    by_string = min(addresses, key=addresses.get)
    assert by_string != winner, (
        "the scenario's addresses %s should make a string comparison pick another winner" % addresses
    )


def test_host_runs_the_release_its_platform_names(host):
    """The fleet is mixed for real: each container boots the Debian release molecule.yml gives it."""
    release = booted_release(host)
    systemd = host.check_output("systemctl --version").split()[1]
    python = host.check_output("python3 -c 'import platform; print(platform.python_version())'")
    print("%s: Debian %d, systemd %s, Python %s" % (host.backend.host, release, systemd, python))
    assert release == platform_release(host.backend.host)


#: Unit settings a release's systemd does not know and ignores (systemd 247 predates PrivateIPC=).
UNKNOWN_SETTINGS = {11: {"PrivateIPC"}, 12: set(), 13: set()}


def test_unit_settings_are_known_to_the_releases_systemd(host):
    out = host.run("systemd-analyze verify %s", UNIT)
    unknown = set(re.findall(r"Unknown (?:key|lvalue)(?: name)? '(\w+)'", out.stdout + out.stderr))
    release = booted_release(host)
    print("%s: Debian %d: settings the unit has and systemd ignores: %s" % (
        host.backend.host, release, ", ".join(sorted(unknown)) or "none"))
    assert unknown == UNKNOWN_SETTINGS[release], out.stdout + out.stderr


def test_unit_active_and_enabled(host):
    service = host.service(UNIT)
    assert service.is_running, journal(host.backend.host)
    assert service.is_enabled


def test_daemon_unprivileged_with_only_cap_net_raw(host):
    pid = int(host.check_output("systemctl show -p MainPID --value %s", UNIT))
    assert pid > 0, "%s has no main process" % UNIT
    cmdline = host.file("/proc/%d/cmdline" % pid).content.replace(b"\0", b" ").decode()
    assert "/usr/local/lib/igmp-querier/igmp-querier --interface eth0 " in cmdline, cmdline
    status = dict(
        line.split(":", 1) for line in host.file("/proc/%d/status" % pid).content_string.splitlines() if ":" in line
    )
    uids = status["Uid"].split()
    gids = status["Gid"].split()
    assert "0" not in uids, "the daemon runs with a root uid: %s" % uids
    assert "0" not in gids, "the daemon runs with a root gid: %s" % gids
    for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        value = int(status[field].strip(), 16)
        assert value == CAP_NET_RAW, "%s is %#x, should be exactly CAP_NET_RAW (%#x)" % (field, value, CAP_NET_RAW)


def test_security_exposure(host):
    out = host.check_output("systemd-analyze security --no-pager %s", UNIT)
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", out)
    assert found, out
    exposure = float(found.group(1))
    release = booted_release(host)
    print("%s: Debian %d: systemd-analyze security exposure %.1f" % (host.backend.host, release, exposure))
    exposed = [line.strip() for line in out.splitlines() if line.lstrip().startswith("\u2717")]
    assert exposure <= MAX_EXPOSURE[release], "exposure %.1f > %.1f on Debian %d; settings not hardened:\n%s" % (
        exposure, MAX_EXPOSURE[release], release, "\n".join(exposed))


def test_lowest_address_is_the_only_querier(addresses, winner, query_interval):
    def agreed():
        statuses = {name: _status(name) for name in QUERIERS}
        return statuses if all(
            st["is_querier"] == (name == winner) and st["querier"] == addresses[winner] for name, st in statuses.items()
        ) else None

    # Elected within a query interval or two of the start; allow a few for a loaded machine.
    try:
        statuses = wait_for(agreed, timeout=4 * query_interval + 10, interval=1, what="one agreed querier")
    except AssertionError:
        statuses = {name: _status(name) for name in QUERIERS}
        raise AssertionError("no agreement on %s (%s): %s" % (winner, addresses[winner], {
            n: (s["role"], s["querier"], s["msg"]) for n, s in statuses.items()}))
    for name, st in statuses.items():
        print("%s: %s" % (name, st["msg"]))
        assert st["active"] and st["enabled"] and not st["stale"], st["msg"]
        assert st["address"] == addresses[name]


def test_the_querier_learns_the_members_group(winner):
    member = MEMBERS[0]
    group = host_vars(member).get("igmp_test_group", "239.1.2.3")
    reporter = address_of(member)

    def learned():
        groups = _status(winner)["groups"]
        return [g for g in groups if g["group"] == group and g["last_reporter"] == reporter]

    # The daemon in its hardened unit really hears reports, not only sends queries.
    wait_for(learned, timeout=20, interval=1, what="%s to learn %s from %s" % (winner, group, reporter))


def test_queries_on_the_wire_come_from_the_winner_only(addresses, winner, query_interval):
    listen = 2 * query_interval + 3
    heard = _status(MEMBERS[0], listen=listen)["heard"]
    print("heard on %s for %.0f s: %s" % (MEMBERS[0], listen, heard))
    ipv4 = [q for q in heard if q.get("family", "ipv4") == "ipv4"]
    assert [q["source"] for q in ipv4] == [addresses[winner]], heard
    assert ipv4[0]["count"] >= 2
    if ipv4[0]["interval"] is not None:
        assert abs(ipv4[0]["interval"] - query_interval) < 0.5, heard
    if _mld_on():  # the MLD queries the member hears come from the lowest link-local address alone
        link_locals = [_link_local(name) for name in QUERIERS]
        lowest = min(link_locals, key=lambda a: int(ipaddress.IPv6Address(a)))
        assert [q["source"] for q in heard if q.get("family") == "ipv6"] == [lowest], heard


METRICS_LINK = "/var/lib/prometheus/node-exporter/igmp-querier-eth0.prom"


def test_metrics_file_exists_and_parses(host, addresses, winner):
    """node_exporter's textfile directory has this instance's metrics (a link to its runtime file)."""
    from prometheus_client.parser import text_string_to_metric_families

    link = host.file(METRICS_LINK)
    assert link.is_symlink and link.linked_to == "/run/igmp-querier/eth0/eth0.prom", journal(host.backend.host)
    text = wait_for(lambda: host.file(METRICS_LINK).exists and host.file(METRICS_LINK).content_string, timeout=10,
                    what="the metrics file")
    samples = {s.name: s for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples["igmp_querier_up"].value == 1 and samples["igmp_querier_up"].labels == {"interface": "eth0"}
    assert samples["igmp_querier_info"].labels["querier"] == addresses[winner]
    assert samples["igmp_querier_is_querier"].value == (1 if host.backend.host == winner else 0)
    assert samples["igmp_querier_health"].value == 0, text


def test_igmp_querier_status_runs_on_the_host(host, addresses, winner):
    """The on-host command the role installs: one line for eth0, health ok, exit 0."""
    done = host.run("igmp-querier status")
    print("%s: igmp-querier status -> %d: %s" % (host.backend.host, done.rc, done.stdout.strip()))
    assert done.rc == 0, done.stdout + done.stderr
    role = "querier %s (us)" % addresses[winner] if host.backend.host == winner else \
        "non-querier, querier %s" % addresses[winner]
    assert done.stdout.startswith("eth0: %s, last query heard " % role), done.stdout
    assert done.stdout.rstrip().endswith("health ok"), done.stdout
    assert host.run("igmp-querier --help").stdout.count("igmp-querier status [IFACE] [--json]") == 1


# --- MLD (IPv6): where the scenario turns it on ------------------------------------------------

def _mld_on() -> bool:
    return all(host_vars(name).get("igmp_querier_mld_version") for name in QUERIERS)


mld_only = pytest.mark.skipif(not _mld_on(), reason="igmp_querier_mld_version is off in this scenario")


def _link_local(name: str) -> str:
    out = get_host(name).check_output("ip -j -6 addr show dev eth0 scope link")
    found = [a["local"] for link in json.loads(out) for a in link.get("addr_info", []) if a.get("family") == "inet6"]
    assert len(found) == 1, "%s: expected one link-local address on eth0, got %s" % (name, found)
    return str(ipaddress.IPv6Address(found[0]))


def _mld_state(name: str) -> dict:
    document = json.loads(get_host(name).file(STATE_FILE).content_string)
    assert document["schema"] == 2 and "mld" in document, "%s: no mld object in %s" % (name, STATE_FILE)
    return document["mld"]


@mld_only
def test_mld_lowest_link_local_is_the_only_mld_querier():
    link_locals = {name: _link_local(name) for name in QUERIERS}
    winner = min(link_locals, key=lambda name: int(ipaddress.IPv6Address(link_locals[name])))

    def agreed():
        states = {name: _mld_state(name) for name in QUERIERS}
        return states if all((st["role"] == "querier") == (name == winner) and st["querier"] == link_locals[winner]
                             for name, st in states.items()) else None

    try:
        states = wait_for(agreed, timeout=30, interval=1, what="one agreed MLD querier (%s)" % link_locals[winner])
    except AssertionError:
        raise AssertionError("no agreement on %s (%s): %s" % (winner, link_locals[winner], {
            name: (st["role"], st["querier"], st["address"], st["queries_sent"], st["queries_heard"])
            for name, st in ((n, _mld_state(n)) for n in QUERIERS)}))
    for name, st in states.items():
        print("%s: MLDv%d %s, querier %s, our address %s, queries sent %d" % (
            name, st["mld_version"], st["role"], st["querier"], st["address"], st["queries_sent"]))
        assert st["address"] == link_locals[name] and st["mld_version"] == 2
    assert states[winner]["queries_sent"] >= 2


@mld_only
def test_only_the_mld_instances_allow_ipv6_sockets(host):
    families = host.check_output("systemctl show -p RestrictAddressFamilies --value %s", UNIT).split()
    assert "AF_INET6" in families and "AF_INET" in families and "AF_PACKET" in families, families

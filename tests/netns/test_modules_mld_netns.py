"""igmp_probe and igmp_status over IPv6: network namespaces on a snooping Linux bridge.

- igmp_probe delivers an IPv6 group (site scope ff05::, and link scope ff02:: on the named
  interface) from one host to another across the veths and the bridge, whose MLD snooping
  records the receiver's join (``bridge mdb show``);
- the probe playbook with ``probe_ipv6``: while MLD queries keep the bridge's memberships, the
  member gets every probe of ff02::4242 for longer than the membership interval, and a receiver
  whose MLD reports never reach the bridge gets none (the bridge, having seen a querier, forwards
  the group to members only);
- igmp_status from both sides of two real daemons with ``--mld-version 2`` names the elected MLD
  querier (the numerically lowest link-local address) beside the IGMP one, and ``listen`` on the
  non-querier hears the MLD querier's queries;
- igmp_status ``listen`` hears MLD queries beside IGMP ones: MLD queries built by codec_mld
  and sent as raw IPv6 frames from a peer, listed per source lowest address first by number
  (fe80::9 < fe80::10 < fe80::100), with their family and version.

The modules run as processes in the hosts' namespaces, as Ansible runs them.
"""

import socket
import threading
import time

import pytest

from tests.netns import lab as netlab
from tests.netns.test_modules_netns import MI, Ansible, finish, run_module
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, codec_mld, netif

pytestmark = pytest.mark.root

A, B, C = "10.0.0.9", "10.0.0.10", "10.0.0.20"
PORT = 59559
ETH_P_IPV6 = 0x86DD


def link_local(host, timeout=10.0):
    """The host's usable IPv6 link-local address, once DAD is done."""
    def usable():
        with netlab.netns(host.ns):  # the rtnetlink socket is made in the host's namespace
            return netif.ipv6_link_local(host.ifname)[0]
    return netlab.wait_until(usable, timeout, "%s has a usable link-local address" % host.name)


def ipv6_hosts(lab, *specs):
    hosts = [lab.add_host(name, address) for name, address in specs]
    for host in hosts:
        host.sysctl("net.ipv6.conf.%s.disable_ipv6" % host.ifname, 0)
    return hosts, [link_local(host) for host in hosts]


def multicast_mac6(group):
    return b"\x33\x33" + socket.inet_pton(socket.AF_INET6, group)[12:]


def send_ipv6(host, packet, dst):
    """A raw IPv6 packet out of ``host``'s interface to the multicast MAC of ``dst``."""
    with netlab.netns(host.ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        try:
            sock.sendto(packet, (host.ifname, ETH_P_IPV6, 0, 0, multicast_mac6(dst)))
        finally:
            sock.close()


def joined6(host, group):
    """The group shows in the namespace's /proc/net/igmp6 (the receiver has joined)."""
    wanted = socket.inet_pton(socket.AF_INET6, group).hex()
    return any(line.split()[2] == wanted for line in host.exec("cat", "/proc/net/igmp6").stdout.splitlines()
               if len(line.split()) > 2)


@pytest.mark.parametrize("group", ["ff05::4242", "ff02::4242"])
def test_probe_delivers_an_ipv6_group_across_the_bridge(lab, group):
    (h1, h2), (ll1, _ll2) = ipv6_hosts(lab, ("h1", A), ("h2", B))
    receiver = run_module(h2, "igmp_probe", dict(mode="receive", group=group, port=PORT, interface="eth0",
                                                 count=40, duration=30, probe_id="v6"), background=True)
    netlab.wait_until(lambda: joined6(h2, group), 15, "the receiver joins %s" % group, interval=0.05)
    netlab.wait_until(lambda: lab.mdb_ports(group) == ["p2"], 10, "the bridge snoops the MLD report")
    sent = run_module(h1, "igmp_probe", dict(mode="send", group=group, port=PORT, interface="eth0", count=40,
                                             interval=0.01, ttl=1, probe_id="v6"))
    assert sent.get("failed") is not True, sent
    assert sent["sent"] == 40 and sent["errors"] == 0
    assert "hop limit 1" in sent["msg"]
    got = finish(receiver)
    assert got.get("failed") is not True, got
    assert (got["received"], got["expected"], got["lost"], got["loss_percent"]) == (40, 40, 0, 0.0)
    assert got["sources"] == [ll1]  # the sender's link-local address, without a %scope
    assert got["stopped"] == "count"
    assert got["msg"].startswith("received 40/40 probes of [%s]:%d on eth0 (0.0%% lost) from %s" % (group, PORT, ll1))


def test_listen_hears_mld_queries_beside_igmp_ones(lab):
    (h1, h2), _addresses = ipv6_hosts(lab, ("h1", A), ("h2", B))
    listen = run_module(h2, "igmp_status", dict(state_dir=lab.workdir, interface="eth0", listen=5.0), background=True)
    time.sleep(1.5)  # the module starts and opens its sockets
    v2 = codec_mld.encode_query_mld(2, 10000, 2, 125)
    v1 = codec_mld.encode_query_mld(1, 5000, 2, 125)
    for _round in range(4):
        send_ipv6(h1, codec_mld.encode_ipv6("fe80::100", codec_mld.ALL_NODES, v2), codec_mld.ALL_NODES)
        send_ipv6(h1, codec_mld.encode_ipv6("fe80::9", codec_mld.ALL_NODES, v2), codec_mld.ALL_NODES)
        send_ipv6(h1, codec_mld.encode_ipv6("fe80::10", codec_mld.ALL_NODES, v1), codec_mld.ALL_NODES)
        h1.send_igmp(codec.encode_query_v2(100), "224.0.0.1")
        time.sleep(0.5)
    # an MLD report is counted, never listed as a querier
    send_ipv6(h1, codec_mld.encode_ipv6("fe80::20", "ff05::1:3", codec_mld.encode_report_mld1("ff05::1:3")),
              "ff05::1:3")
    result = finish(listen)
    assert result.get("failed") is not True, result
    entry = result["interfaces"]["eth0"]
    heard = entry["heard"]
    assert [(q["family"], q["source"]) for q in heard] == [
        ("ipv4", A), ("ipv6", "fe80::9"), ("ipv6", "fe80::10"), ("ipv6", "fe80::100")], heard
    igmp, nine, ten, hundred = heard
    assert igmp["version"] == 2 and igmp["count"] == 4
    assert (nine["version"], nine["count"], nine["max_response"], nine["qrv"], nine["qqi"]) == (2, 4, 10.0, 2, 125)
    assert (ten["version"], ten["max_response"], ten["qrv"]) == (1, 5.0, 0)
    assert nine["interval"] == pytest.approx(0.5, abs=0.2)
    assert nine["router_alert"] is True and nine["ttl"] == 1 and nine["own"] is False
    assert entry["listen"]["elected"] == A and entry["listen"]["error"] is None
    mld = entry["listen"]["mld"]
    assert mld["elected"] == "fe80::9" and mld["error"] is None
    # 12 queries; the reports are ours and any the hosts' kernels send (joins of solicited-node groups)
    assert mld["reports"] >= 1 and mld["packets"] == 12 + mld["reports"] and mld["malformed"] == 0
    assert "; heard 10.0.0.9 IGMPv2 x4" in entry["msg"] and "fe80::9 MLDv2 x4" in entry["msg"]


class MldQuerier:
    """MLDv2 General Queries from ``host``'s link-local address every ``interval`` seconds (a
    stand-in querier, codec_mld's bytes on a raw frame), until :meth:`stop`."""

    def __init__(self, host, source, interval=1.0, max_resp_ms=500):
        self.packet = codec_mld.encode_ipv6(source, codec_mld.ALL_NODES,
                                            codec_mld.encode_query_mld(2, max_resp_ms, 2, interval))
        self.host, self.interval = host, interval
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            send_ipv6(self.host, self.packet, codec_mld.ALL_NODES)
            self.sent += 1
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def test_probe_playbook_ipv6_member_gets_everything_and_unjoined_receiver_gets_nothing(lab, tmp_path):
    (h1, h2, h3), (ll1, _ll2, _ll3) = ipv6_hosts(lab, ("h1", A), ("h2", B), ("h3", C))
    # h3's MLD reports never reach the bridge
    h3.exec("nft", "add table ip6 probe_test")
    h3.exec("nft", "add chain ip6 probe_test out { type filter hook output priority 0 ; }")
    h3.exec("nft", "add rule ip6 probe_test out icmpv6 type { mld-listener-report, mld2-listener-report } drop")
    querier = MldQuerier(h1, ll1)
    try:
        netlab.wait_until(lambda: lab.router_ports() == ["p1"], 5, "the bridge sees the MLD querier")
        ansible = Ansible(tmp_path, [h1, h2, h3])
        count, interval = 60, 0.1  # 6 s of probes: longer than the bridge's membership interval
        assert count * interval > MI
        rc, output = ansible.playbook("probe.yml", {
            "probe_receivers": "h2:h3", "probe_sender": "h1", "probe_ipv6": True, "probe_port": PORT,
            "probe_count": count, "probe_interval": interval, "probe_settle": 1, "probe_duration": 12,
            "probe_id": "netns-v6"})
    finally:
        querier.stop()
    assert rc == 2, output  # the loss at h3 fails the run, after the table
    table = [line.strip().strip("\",").rstrip() for line in output.splitlines()]
    assert "receiver                 received/expected   loss %  sources" in table, output
    assert "h2                                   60/60      0.0  %s" % ll1 in table, output
    assert "h3                                    0/60    100.0  -" in table, output
    assert "h2: received 60/60 probes of [ff02::4242]:%d on eth0 (0.0%% lost) from %s" % (PORT, ll1) in output, output
    assert "sent 60 of 60 probes to [ff02::4242]:%d on eth0 (id netns-v6" % PORT in output, output
    assert querier.sent >= 6


def test_status_of_two_mld_daemons_names_the_mld_querier_and_listen_hears_it(lab, tmp_path):
    (h1, h2), (ll1, ll2) = ipv6_hosts(lab, ("h1", A), ("h2", B))
    winner, loser = sorted((ll1, ll2), key=codec_mld.ip6_key)
    daemons = {h.name: h.daemon(*netlab.FAST, "--mld-version", "2") for h in (h1, h2)}
    for name, address, igmp_role in (("h1", ll1, "querier"), ("h2", ll2, "non-querier")):  # IGMP: 10.0.0.9 wins
        role = "querier" if address == winner else "non-querier"
        daemons[name].wait_state(lambda s, role=role, igmp_role=igmp_role: s["role"] == igmp_role
                                 and (s.get("mld") or {}).get("role") == role and s["mld"]["querier"] == winner,
                                 15, "%s MLD %s of %s" % (name, role, winner))
    ansible = Ansible(tmp_path, [h1, h2], {"h1": {"igmp_state_dir": daemons["h1"].state_dir},
                                           "h2": {"igmp_state_dir": daemons["h2"].state_dir}})
    results = ansible.ad_hoc("all", "multicast.igmp.igmp_status", "state_dir={{ igmp_state_dir }} listen=3.5")
    by_address = {ll1: "h1", ll2: "h2"}
    ours, theirs = results[by_address[winner]], results[by_address[loser]]
    mine = ours["interfaces"]["eth0"]["mld"]
    assert (mine["address"], mine["role"], mine["querier"], mine["is_querier"], mine["mld_version"]) == (
        winner, "querier", winner, True, 2)
    other = theirs["interfaces"]["eth0"]["mld"]
    assert (other["address"], other["role"], other["querier"]) == (loser, "non-querier", winner)
    assert "; MLD querier %s (us), " % winner in ours["msg"]
    assert "; MLD non-querier, querier is %s (heard " % winner in theirs["msg"]
    assert ours["msg"].startswith("eth0: IGMP ") and theirs["msg"].startswith("eth0: IGMP ")
    # the non-querier hears the MLD querier on the wire, beside the IGMP querier
    heard = theirs["interfaces"]["eth0"]["heard"]
    six = [q for q in heard if q["family"] == "ipv6"]
    assert [q["source"] for q in six] == [winner], heard
    assert six[0]["version"] == 2 and six[0]["general"] >= 2 and six[0]["ttl"] == 1 and six[0]["router_alert"]
    assert theirs["interfaces"]["eth0"]["listen"]["mld"]["elected"] == winner
    assert [q["source"] for q in heard if q["family"] == "ipv4"] == [A]
    assert ours["interfaces"]["eth0"]["health"] == "ok", ours["interfaces"]["eth0"]["health_reasons"]
    assert theirs["interfaces"]["eth0"]["health"] == "ok", theirs["interfaces"]["eth0"]["health_reasons"]

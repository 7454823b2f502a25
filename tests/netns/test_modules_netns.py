"""igmp_status and igmp_probe across real hosts: network namespaces on a snooping Linux bridge.

Each namespace is an Ansible host (local connection whose Python runs inside the namespace), so
the ad hoc command and the playbooks run exactly as users run them on a LAN, against the real
daemon (``python3 -m igmp_querier``):

- status from both sides names the same elected querier, and ``listen`` hears its queries;
- the probe playbook shows 0% loss at a member, for longer than the bridge's membership
  interval, and 100% loss at a receiver whose join never reached the bridge (its IGMP is
  dropped on the way out, so the bridge, having seen a querier, never forwards the group there);
- without a querier, a probe that outlasts the membership interval reports the loss;
- ``listen`` and the probe's receive end on time while frames flood the interface (flooder.py,
  sendmmsg onto the host's bridge port); the figures are printed (``-s``).
"""

import json
import os
import stat
import struct
import subprocess
import sys
import time

import pytest

from tests.helpers import collections_root
from tests.netns import lab as netlab
from ansible_collections.multicast.igmp.plugins.module_utils import probe

pytestmark = pytest.mark.root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
A, B, C = "10.0.0.9", "10.0.0.10", "10.0.0.20"
GROUP = "239.1.2.3"
PORT = 59559
MI = netlab.MEMBERSHIP_INTERVAL


def tool(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        pytest.skip("%s is not installed next to this python" % name)
    return path


class Ansible:
    """An inventory whose hosts are lab namespaces, and the ansible commands run against it."""

    def __init__(self, workdir, hosts, host_vars=None):
        self.workdir = str(workdir)
        inventory = {}
        for host in hosts:
            wrapper = os.path.join(self.workdir, "python-" + host.name)
            with open(wrapper, "w") as handle:
                handle.write("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (host.ns, sys.executable))
            os.chmod(wrapper, stat.S_IRWXU)
            inventory[host.name] = dict(ansible_connection="local", ansible_python_interpreter=wrapper,
                                        probe_interface=host.ifname, **(host_vars or {}).get(host.name, {}))
        self.inventory = os.path.join(self.workdir, "inventory.json")
        with open(self.inventory, "w") as handle:
            json.dump({"all": {"hosts": inventory}}, handle)
        config = os.path.join(self.workdir, "ansible.cfg")
        with open(config, "w") as handle:
            handle.write("[defaults]\n")
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_CONFIG=config,
                        ANSIBLE_HOME=os.path.join(self.workdir, "home"),
                        ANSIBLE_LOCAL_TEMP=os.path.join(self.workdir, "tmp"),
                        ANSIBLE_ASYNC_DIR=os.path.join(self.workdir, "async"), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_LOCALHOST_WARNING="0")

    def ad_hoc(self, pattern, module, args):
        """``ansible PATTERN -m MODULE -a ARGS``; returns {host: result} (json callback)."""
        env = dict(self.env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
        proc = subprocess.run([tool("ansible"), pattern, "-i", self.inventory, "-m", module, "-a", args],
                              capture_output=True, check=False, text=True, env=env, timeout=180, cwd=self.workdir)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]

    def playbook(self, name, extra_vars):
        proc = subprocess.run([tool("ansible-playbook"), "-i", self.inventory, os.path.join(REPO, "playbooks", name),
                               "-e", json.dumps(extra_vars)],
                              capture_output=True, check=False, text=True, env=self.env, timeout=300, cwd=self.workdir)
        return proc.returncode, proc.stdout + proc.stderr


def run_module(host, module, args, background=False, prefix=()):
    """A module run directly as a process in ``host``'s namespace (no ansible), its command
    line after ``prefix`` (for example ``nice``)."""
    args_file = os.path.join(host.lab.workdir, "args-%s-%s-%d.json" % (host.name, module, time.monotonic_ns()))
    with open(args_file, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    cmd = ["ip", "netns", "exec", host.ns, *prefix, sys.executable,
           os.path.join(REPO, "plugins", "modules", module + ".py"), args_file]
    env = dict(os.environ, PYTHONPATH=collections_root())
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if background:
        return proc
    return finish(proc)


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    assert out, err
    return json.loads(out)


def joined(host, group):
    """The group shows in the namespace's /proc/net/igmp (the receiver has joined)."""
    import socket
    import struct
    wanted = "%08X" % struct.unpack("=I", socket.inet_aton(group))[0]
    return wanted in host.exec("cat", "/proc/net/igmp").stdout


def two_daemons(lab):
    h1, h2 = lab.add_host("h1", A), lab.add_host("h2", B)
    d1, d2 = h1.daemon(*netlab.FAST), h2.daemon(*netlab.FAST)
    d1.wait_state(lambda s: s["role"] == "querier" and s["querier"] == A, 10, "querier")
    d2.wait_state(lambda s: s["role"] == "non-querier" and s["querier"] == A and s["last_query_heard"], 10,
                  "non-querier of %s" % A)
    return (h1, d1), (h2, d2)


# --- igmp_status ------------------------------------------------------------------------------
def test_status_from_both_sides_names_the_same_querier_and_listen_hears_it(lab, tmp_path):
    (h1, d1), (h2, d2) = two_daemons(lab)
    ansible = Ansible(tmp_path, [h1, h2], {"h1": {"igmp_state_dir": d1.state_dir},
                                           "h2": {"igmp_state_dir": d2.state_dir}})

    results = ansible.ad_hoc("all", "multicast.igmp.igmp_status", "state_dir={{ igmp_state_dir }}")
    one, two = results["h1"]["interfaces"]["eth0"], results["h2"]["interfaces"]["eth0"]
    assert (one["role"], one["address"], one["querier"], one["is_querier"]) == ("querier", A, A, True)
    assert (two["role"], two["address"], two["querier"], two["is_querier"]) == ("non-querier", B, A, False)
    assert one["exists"] and two["exists"] and one["installed"] and two["installed"]
    assert one["stale"] is False and two["stale"] is False
    assert one["queries_sent"] >= 1 and two["last_query_heard_from"] == A
    assert two["last_query_heard_age"] < 2.5  # the querier queries every second
    assert results["h1"]["msg"].startswith("eth0: querier 10.0.0.9 (us), ")
    assert results["h2"]["msg"].startswith("eth0: non-querier, querier is 10.0.0.9 (heard ")

    # listen: both sides hear the querier's queries, every second; the querier marks them its own
    results = ansible.ad_hoc("all", "multicast.igmp.igmp_status", "state_dir={{ igmp_state_dir }} listen=4.5")
    for host, own in (("h1", True), ("h2", False)):
        entry = results[host]["interfaces"]["eth0"]
        assert [q["source"] for q in entry["heard"]] == [A], entry["heard"]  # the non-querier stays quiet
        (heard,) = entry["heard"]
        assert heard["own"] is own and heard["version"] == 2 and heard["max_response"] == 0.5
        assert heard["general"] >= 3 and heard["interval"] == pytest.approx(1.0, abs=0.25)
        assert entry["listen"]["elected"] == A and entry["listen"]["error"] is None
        assert "; heard 10.0.0.9 IGMPv2 x" in entry["msg"]

    # the status playbook prints every host's lines
    rc, output = ansible.playbook("status.yml", {"igmp_status_state_dir": "{{ igmp_state_dir }}"})
    assert rc == 0, output
    assert '"h1: eth0: querier 10.0.0.9 (us), ' in output
    assert '"h2: eth0: non-querier, querier is 10.0.0.9 (heard ' in output


def test_status_reports_a_stopped_daemon_as_stale(lab, tmp_path):
    (h1, d1), (h2, d2) = two_daemons(lab)
    d2.send_signal(19)  # SIGSTOP: hung, its state file no longer refreshed
    try:
        timeout = d2.state()["effective"]["query_interval"] * 3 + 1.5
        time.sleep(timeout)
        result = run_module(h2, "igmp_status", {"state_dir": d2.state_dir})
    finally:
        d2.send_signal(18)  # SIGCONT
    entry = result["interfaces"]["eth0"]
    assert entry["stale"] is True
    assert entry["msg"].startswith("eth0: STALE state (") and entry["msg"].endswith(" s old): daemon hung?")


# --- igmp_probe -------------------------------------------------------------------------------
def test_probe_playbook_member_gets_everything_and_unjoined_receiver_gets_nothing(lab, tmp_path):
    h1, h2, h3 = lab.add_host("h1", A), lab.add_host("h2", B), lab.add_host("h3", C)
    # h3's joins never reach the bridge: its IGMP is dropped on the way out
    h3.exec("nft", "add table ip probe_test")
    h3.exec("nft", "add chain ip probe_test out { type filter hook output priority 0 ; }")
    h3.exec("nft", "add rule ip probe_test out ip protocol igmp drop")
    daemon = h1.daemon(*netlab.FAST)
    daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 1, 10, "querier")
    netlab.wait_until(lambda: lab.router_ports() == ["p1"], 5, "the bridge sees the querier")

    ansible = Ansible(tmp_path, [h1, h2, h3])
    count, interval = 60, 0.1  # 6 s of probes: longer than the bridge's membership interval
    assert count * interval > MI
    rc, output = ansible.playbook("probe.yml", {
        "probe_receivers": "h2:h3", "probe_sender": "h1", "probe_group": GROUP, "probe_port": PORT,
        "probe_count": count, "probe_interval": interval, "probe_settle": 1, "probe_duration": 12,
        "probe_id": "netns-run"})
    assert rc == 2, output  # the loss at h3 fails the run, after the table
    assert lab.mdb_ports(GROUP) == [], "the receivers left the group when they finished"
    table = [line.strip().strip("\",").rstrip() for line in output.splitlines()]
    assert "receiver                 received/expected   loss %  sources" in table, output
    assert "h2                                   60/60      0.0  10.0.0.9" in table
    assert "h3                                    0/60    100.0  -" in table, output
    assert "h2: received 60/60 probes of 239.1.2.3:59559 on eth0 (0.0% lost) from 10.0.0.9" in output, output
    assert "h3: received 0/60 probes of 239.1.2.3:59559 on eth0 (100.0% lost)" in output, output
    assert "sent 60 of 60 probes to 239.1.2.3:59559 on eth0 (id netns-run" in output, output
    assert daemon.alive()


def test_probe_without_querier_reports_the_loss_once_the_membership_ages_out(lab):
    h1, h2 = lab.add_host("h1", A), lab.add_host("h2", B)
    h2.quick_reports()
    # One query, once (a querier that has since gone): the bridge forwards by its snooping table.
    h1.send_igmp(netlab.codec.encode_query_v2(5), "224.0.0.1")
    netlab.wait_until(lambda: lab.router_ports() == ["p1"], 3, "the bridge learns the querier's port")

    count, interval = 100, 0.1  # 10 s: more than twice the membership interval
    receiver = run_module(h2, "igmp_probe", {"mode": "receive", "group": GROUP, "port": PORT, "interface": "eth0",
                                             "count": count, "duration": count * interval + 5}, background=True)
    netlab.wait_until(lambda: joined(h2, GROUP), 10, "the receiver joins", interval=0.01)
    joined_at = time.time()  # the join report (and its retransmission within 0.1 s) starts the bridge's timer
    netlab.wait_until(lambda: lab.mdb_ports(GROUP) == ["p2"], 3, "the bridge snoops the join")
    sent = run_module(h1, "igmp_probe", {"mode": "send", "group": GROUP, "port": PORT, "interface": "eth0",
                                         "count": count, "interval": interval})
    got = finish(receiver)
    assert sent["sent"] == count
    assert got["stopped"] == "duration" and got["expected"] == count
    # delivered while the entry lived (one membership interval from the join), then nothing
    assert 0 < got["received"] < count and got["lost"] == count - got["received"]
    lasted = got["last_arrival"] - joined_at
    assert MI - 0.7 <= lasted <= MI + 1.0, "delivered until %.2f s after the join; membership interval %g s" % (lasted, MI)
    assert got["loss_percent"] > 30
    assert got["sources"] == [A] and got["reordered"] == 0 and got["duplicated"] == 0


# --- deadlines under a flood ------------------------------------------------------------------
FLOODER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flooder.py")
FLOOD_SENDERS = 2  # one per core: the module's receive loop must still end on time


def rx_packets(host):
    out = json.loads(host.exec("ip", "-s", "-j", "link", "show", host.ifname).stdout)
    return out[0]["stats64"]["rx"]["packets"]


class Flood:
    """``FLOOD_SENDERS`` flooders (``flooder.py``) onto ``host``'s bridge port, from the bridge's
    namespace: every frame arrives on the host's interface as it would from the wire."""

    def __init__(self, lab, host, datagram, dst, seconds):
        cmd = ["ip", "netns", "exec", lab.bridge_ns, sys.executable, FLOODER, host.port,
               netlab.multicast_mac(dst).hex(), datagram.hex(), str(seconds)]
        self.procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                      for _sender in range(FLOOD_SENDERS)]
        start = rx_packets(host)
        netlab.wait_until(lambda: rx_packets(host) > start + 10000, 10, "the flood reaches %s" % host.name)

    def stop(self):
        sent = 0
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
            out, err = proc.communicate(timeout=10)
            assert out, err
            sent += json.loads(out)["sent"]
        return sent


def timed_run(host, module, args, timeout):
    """Run the module in ``host``; (seconds it took, result, frames that arrived meanwhile).

    It runs at nice -5: the machine is shared and the flooders take whole cores, and what is
    tested is the module's receive loop, not the scheduler's share of CPU for it."""
    before, start = rx_packets(host), time.monotonic()
    proc = run_module(host, module, args, background=True, prefix=("nice", "-n", "-5"))
    try:
        result = finish(proc, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("%s still running after %.0f s (args %s)" % (module, timeout, args))
    took = time.monotonic() - start
    return took, result, rx_packets(host) - before


def test_listen_ends_on_time_under_a_query_flood(lab):
    h1 = lab.add_host("h1", A)
    flood_datagram = netlab.codec.encode_ipv4("10.0.0.66", "224.0.0.1", netlab.codec.encode_query_v2(100))
    listen = 3.0
    flood = Flood(lab, h1, flood_datagram, "224.0.0.1", seconds=listen + 60)
    status = {"state_dir": lab.workdir, "interface": "eth0"}
    try:
        before = timed_run(h1, "igmp_status", status, 30)[0]
        took, result, arrived = timed_run(h1, "igmp_status", dict(status, listen=listen), listen + 30)
        startup = max(before, timed_run(h1, "igmp_status", status, 30)[0])  # the same run without listen
    finally:
        sent = flood.stop()
    rate = arrived / took
    entry = result["interfaces"]["eth0"]
    print("flood: %d frames sent, %.0f frames/s arrived during listen=%g, %d taken in; module %.2f s (%.2f s without"
          " listen)" % (sent, rate, listen, entry["listen"]["packets"], took, startup))
    assert result["listened"] == listen and entry["listen"]["error"] is None, result
    assert [q["source"] for q in entry["heard"]] == ["10.0.0.66"]
    assert entry["listen"]["packets"] > 5000, entry["listen"]  # it was busy receiving the flood
    # more arrived than the module could take in: its socket never ran dry
    assert arrived > 1.5 * entry["listen"]["packets"], "the flood (%.0f frames/s) did not saturate the module" % rate
    assert took <= startup + listen + 1.5, "listen=%g took %.2f s (startup %.2f s) under %.0f frames/s" % (
        listen, took, startup, rate)


def test_probe_receive_ends_on_time_under_a_datagram_flood(lab):
    h1 = lab.add_host("h1", A)
    payload = probe.encode("flood", 0, 1, time.time())  # one probe, again and again: duplicates
    udp = struct.pack("!HHHH", 40000, PORT, 8 + len(payload), 0) + payload  # UDP checksum 0: none
    flood_datagram = netlab.codec.encode_ipv4("10.0.0.66", GROUP, udp, ttl=4, router_alert=False, proto=17)
    duration = 2.0
    flood = Flood(lab, h1, flood_datagram, GROUP, seconds=duration + 60)
    args = {"mode": "receive", "group": GROUP, "port": PORT, "interface": "eth0"}
    send_one = dict(args, mode="send", count=1, interval=0)
    try:
        before = timed_run(h1, "igmp_probe", send_one, 30)[0]
        took, result, arrived = timed_run(h1, "igmp_probe", dict(args, duration=duration), duration + 30)
        startup = max(before, timed_run(h1, "igmp_probe", send_one, 30)[0])
    finally:
        sent = flood.stop()
    rate = arrived / took
    print("flood: %d datagrams sent, %.0f/s arrived during duration=%g, %d taken in; module %.2f s (%.2f s to send"
          " one probe)" % (sent, rate, duration, result["duplicated"] + 1, took, startup))
    assert result["stopped"] == "duration"
    assert result["received"] == 1 and result["duplicated"] > 5000, result  # it was busy receiving the flood
    assert arrived > 1.5 * (result["duplicated"] + 1), "the flood (%.0f/s) did not saturate the module" % rate
    assert took <= startup + duration + 1.5, "duration=%g took %.2f s under %.0f datagrams/s" % (duration, took, rate)

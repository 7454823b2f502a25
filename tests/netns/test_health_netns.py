"""Health verdicts against the real daemon in network namespaces on a snooping Linux bridge.

Each of these turns the verdict of igmp_status critical, and igmp_status with fail_on=critical
fails the host (run as a module process in the host's namespace, and once through ``ansible``):

- a stopped daemon (SIGTERM: no state file; SIGKILL: a fresh state file whose process is gone);
- a foreign querier (a lower address that is not one of ours queries on the LAN);
- two queriers (the bridge drops the winner's queries on their way to the other daemon, so both
  query): ``listen`` on the winner hears both, and the status playbook's fleet table shows both
  and fails (the other daemon hears only itself and cannot tell).

The metrics file tracks a takeover: is_querier, takeovers_total and role_changes_total change
when the querier goes away, parsed with prometheus_client's text parser.
"""

import json
import os
import subprocess
import threading
import time

import pytest

from tests.netns import lab as netlab
from tests.netns.test_modules_netns import Ansible, run_module, tool

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec

pytestmark = pytest.mark.root

A, B, C, FOREIGN = "10.0.0.9", "10.0.0.10", "10.0.0.100", "10.0.0.5"


def status(host, daemon, **args):
    return run_module(host, "igmp_status", dict({"interface": "eth0", "state_dir": daemon.state_dir}, **args))


def codes(result):
    return [r["code"] for r in result["interfaces"]["eth0"]["health_reasons"]]


def start(lab, *pairs):
    """Daemons on new hosts; waits until the lowest address is querier and the others heard it."""
    started = []
    for name, address in pairs:
        host = lab.add_host(name, address)
        started.append((host, host.daemon(*netlab.FAST)))
    winner = min((address for _host, address in pairs), key=codec.ip_key)
    for host, daemon in started:
        daemon.wait_state(lambda s: s["querier"] == winner and (s["role"] == "querier" or s["last_query_heard"]),
                          10, "querier %s elected" % winner)
    return started


def test_healthy_daemons_pass_fail_on_critical(lab):
    (h1, d1), (h2, d2) = start(lab, ("h1", A), ("h2", B))
    for host, daemon in ((h1, d1), (h2, d2)):
        result = status(host, daemon, fail_on="critical", queriers=[A, B])
        assert not result.get("failed"), result["msg"]
        assert result["health"] == "ok" and result["interfaces"]["eth0"]["health"] == "ok", result["msg"]


def test_a_stopped_daemon_is_critical_and_fails_the_host(lab):
    (h1, d1), (h2, d2) = start(lab, ("h1", A), ("h2", B))
    assert d1.stop() == 0  # SIGTERM: the daemon removes its state file
    result = status(h1, d1, fail_on="critical")
    assert result["failed"] is True and codes(result) == ["not_installed"]
    assert result["msg"].startswith("eth0: health critical: no querier installed on this interface")

    # Killed: the state file stays, fresh, but its process is gone.
    pid = d2.pid
    d2.kill()
    result = status(h2, d2, fail_on="critical")
    assert result["failed"] is True and codes(result)[0] == "not_running"
    assert "daemon not running (process %d is gone)" % pid in result["msg"]
    # Without fail_on the module only reports it.
    result = status(h2, d2)
    assert not result.get("failed") and result["health"] == "critical"


class Querier:
    """A foreign querier: IGMPv2 General Queries from ``host`` every ``period`` seconds."""

    def __init__(self, host, period=0.5):
        self.host, self.period, self.stopped = host, period, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            self.host.send_igmp(codec.encode_query_v2(5), "224.0.0.1", ttl=1)
            self.stopped.wait(self.period)

    def close(self):
        self.stopped.set()
        self.thread.join(5)


def test_a_foreign_querier_is_critical_and_fails_the_host(lab):
    ((h2, d2),) = start(lab, ("h2", B))
    foreign = lab.add_host("router", FOREIGN)
    querier = Querier(foreign)
    try:
        d2.wait_state(lambda s: s["querier"] == FOREIGN and s["role"] == "non-querier", 10, "foreign querier elected")
        result = status(h2, d2, fail_on="critical", queriers=[A, B, C])
        # Without our list the module cannot tell: the LAN has a querier, which is all it knows.
        plain = status(h2, d2, fail_on="critical")
    finally:
        querier.close()
    assert result["failed"] is True and codes(result) == ["foreign_querier"]
    assert result["msg"].startswith("eth0: health critical: elected querier 10.0.0.5 is not one of ours")
    assert not plain.get("failed") and plain["health"] == "ok", plain["msg"]


def _drop_queries(lab, port, source):
    """The bridge drops IGMP from ``source`` on its way out of ``port`` (that host never hears it)."""
    cmd = ["ebtables", "-A", "FORWARD", "-o", port, "-p", "IPv4", "--ip-src", source, "--ip-proto", "2", "-j", "DROP"]
    proc = subprocess.run(["ip", "netns", "exec", lab.bridge_ns, *cmd], capture_output=True, text=True, timeout=20,
                          check=False)
    if proc.returncode != 0:
        pytest.skip("ebtables cannot filter the bridge here: %s" % proc.stderr.strip())


def test_two_queriers_are_critical_and_fail_the_host_and_the_status_playbook(lab, tmp_path):
    h1, h2 = lab.add_host("h1", A), lab.add_host("h2", B)
    _drop_queries(lab, h2.port, A)
    d1, d2 = h1.daemon(*netlab.FAST), h2.daemon(*netlab.FAST)
    d1.wait_state(lambda s: s["role"] == "querier" and s["queries_heard"] > 2, 10, "querier hearing the other")
    d2.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] > 4, 10, "second querier")
    # Each state file alone looks fine; the wire at h1 shows two queriers (listen > 2 query intervals).
    result = status(h1, d1, fail_on="critical", listen=3.5)
    assert result.get("failed") is True, (result["msg"], result["interfaces"]["eth0"]["heard"])
    assert codes(result) == ["two_queriers"]
    assert result["msg"].startswith("eth0: health critical: 2 queriers heard on the wire at once: 10.0.0.10, 10.0.0.9")
    # h2 hears only itself (that is why it queries): only the fleet view below can tell.
    alone = status(h2, d2, fail_on="critical", listen=3.5)
    assert not alone.get("failed") and [q["source"] for q in alone["interfaces"]["eth0"]["heard"]] == [B]

    ansible = Ansible(tmp_path, [h1, h2], {"h1": {"igmp_state_dir": d1.state_dir},
                                           "h2": {"igmp_state_dir": d2.state_dir}})
    rc, output = ansible.playbook("status.yml", {"igmp_status_state_dir": "{{ igmp_state_dir }}"})
    assert rc != 0, output
    table = output.index("LAN 10.0.0.0/24: 2 QUERIERS: 10.0.0.9 (h1 eth0), 10.0.0.10 (h2 eth0)")
    assert output.index("Fail unless every LAN has one querier", table) > table


def test_the_ad_hoc_alert_check_fails_only_on_the_unhealthy_host(lab, tmp_path):
    (h1, d1), (h2, d2) = start(lab, ("h1", A), ("h2", B))
    d2.kill()
    ansible = Ansible(tmp_path, [h1, h2], {"h1": {"igmp_state_dir": d1.state_dir},
                                           "h2": {"igmp_state_dir": d2.state_dir}})
    env = dict(ansible.env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = subprocess.run([tool("ansible"), "all", "-i", ansible.inventory, "-m", "multicast.igmp.igmp_status",
                           "-a", "state_dir={{ igmp_state_dir }} fail_on=critical"],
                          capture_output=True, check=False, text=True, env=env, timeout=180, cwd=ansible.workdir)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # some host failed: the alert fires
    results = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    assert not results["h1"].get("failed"), results["h1"]["msg"]
    assert results["h2"]["failed"] is True and "process %d is gone" % d2.pid in results["h2"]["msg"]


def _metrics(path):
    from prometheus_client.parser import text_string_to_metric_families
    with open(path) as handle:
        text = handle.read()
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.labels.get("interface") == "eth0" and s.name != "igmp_querier_info"}


def test_the_metrics_file_tracks_a_takeover(lab):
    h1, h2 = lab.add_host("h1", A), lab.add_host("h2", B)
    metrics = os.path.join(lab.workdir, "h2.prom")
    d1 = h1.daemon(*netlab.FAST)
    d1.wait_state(lambda s: s["role"] == "querier", 10, "querier")
    d2 = h2.daemon(*netlab.FAST, "--metrics-file", metrics)
    d2.wait_state(lambda s: s["role"] == "non-querier" and s["querier"] == A, 10, "non-querier")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _metrics(metrics).get("igmp_querier_queries_heard_total", 0) < 1:
        time.sleep(0.1)
    before = _metrics(metrics)
    assert before["igmp_querier_up"] == 1 and before["igmp_querier_is_querier"] == 0
    assert before["igmp_querier_takeovers_total"] == 0 and before["igmp_querier_queries_heard_total"] >= 1
    assert before["igmp_querier_last_query_heard_age_seconds"] < 1.5
    assert oct(os.stat(metrics).st_mode & 0o777) == "0o644"

    lost = time.monotonic()
    assert d1.stop() == 0
    d2.wait_state(lambda s: s["role"] == "querier", 10, "takeover")
    took = time.monotonic() - lost
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and _metrics(metrics)["igmp_querier_is_querier"] != 1:
        time.sleep(0.05)
    after = _metrics(metrics)
    print("takeover %.2f s after the querier stopped (timeout %.2f s); metrics: %s" % (
        took, after["igmp_querier_timeout_seconds"], {k: v for k, v in after.items() if "total" in k}))
    assert after["igmp_querier_is_querier"] == 1 and after["igmp_querier_takeovers_total"] == 1
    assert after["igmp_querier_role_changes_total"] == before["igmp_querier_role_changes_total"] + 1
    assert after["igmp_querier_queries_sent_total"] >= 1 and after["igmp_querier_health"] == 0

    assert d2.stop() == 0
    assert not os.path.exists(metrics)  # a stopped daemon exports nothing

"""Prometheus metrics file: rendered from real state documents, parsed by prometheus_client's own
text parser (the independent oracle), written atomically by the daemon's write_state()."""

import math
import os
import re
import stat

import pytest

from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, config, metrics, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Config, Timers
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.daemon import Daemon
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import Querier

T = Timers(query_interval=10.0, max_response_time=1.0, robustness=2)
WALL = 1700000000.0
ME, LOWER = "10.0.0.10", "10.0.0.9"


def doc(q, mono=1003.0, interface="eth0", **kwargs):
    return state.validate(state.build(q, interface=interface, address=q.address, link="up", pid=1, version="0.1.0",
                                      started=WALL, malformed=5, now_mono=mono, now_wall=WALL + mono - 1000.0,
                                      **kwargs))


def took_over():
    """Lost to LOWER at 1001, one group learned at 1020, took over at 1022.5 (timeout 20.5 s)."""
    q = Querier(T, ME)
    q.start(1000.0)
    q.record_sent(1000.0)
    q.handle(LOWER, codec.Query(2, 10, codec.ANY), 1001.0)
    q.handle("10.0.0.20", codec.Report(2, "239.1.2.3"), 1020.0)
    q.tick(1022.5)
    q.record_sent(1022.5)
    assert q.role == "querier" and q.takeovers == 1
    return q


def parse(text):
    """{sample name: {frozenset(labels): value}} and {family: type} through the oracle."""
    samples, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples, types


def one(samples, name, **labels):
    values = samples[name]
    matches = [v for k, v in values.items() if set(labels.items()) <= set(k)]
    assert len(matches) == 1, (name, values)
    return matches[0]


def test_the_oracle_parses_every_metric_with_its_value():
    document = doc(took_over(), 1024.0, send_errors=2)
    samples, types = parse(metrics.render(document, WALL + 24.0))
    iface = {"interface": "eth0"}
    assert one(samples, "igmp_querier_up", **iface) == 1
    assert one(samples, "igmp_querier_is_querier", **iface) == 1
    assert one(samples, "igmp_querier_info", querier=ME, address=ME, role="querier", **iface) == 1
    expected = {"queries_sent": 2, "queries_heard": 1, "queries_ignored": 0, "elections_won": 0,
                "elections_lost": 1, "takeovers": 1, "role_changes": 2, "malformed_frames": 5, "send_errors": 2,
                "groups_overflow": 0}
    for name, value in expected.items():
        assert types["igmp_querier_" + name] == "counter"
        assert one(samples, "igmp_querier_%s_total" % name, **iface) == value, name
    assert one(samples, "igmp_querier_groups", **iface) == 1
    assert one(samples, "igmp_querier_last_query_heard_age_seconds", **iface) == pytest.approx(23.0)
    assert one(samples, "igmp_querier_last_query_sent_age_seconds", **iface) == pytest.approx(1.5)
    assert one(samples, "igmp_querier_timeout_seconds", **iface) == 20.5
    assert one(samples, "igmp_querier_query_interval_seconds", **iface) == 10.0
    assert one(samples, "igmp_querier_start_time_seconds", **iface) == WALL
    assert one(samples, "igmp_querier_health", **iface) == 1  # warning: send errors
    assert one(samples, "igmp_querier_health_reason", code="send_errors", level="warning", **iface) == 1


def test_never_heard_is_nan_and_health_ok_has_no_reason():
    q = Querier(T, ME)
    q.start(1000.0)
    q.record_sent(1000.0)
    samples, _types = parse(metrics.render(doc(q, 1001.0), WALL + 1.0))
    value = one(samples, "igmp_querier_last_query_heard_age_seconds")
    assert math.isnan(value)
    assert one(samples, "igmp_querier_health") == 0
    assert "igmp_querier_health_reason" not in samples


def test_names_follow_prometheus_conventions():
    text = metrics.render(doc(took_over(), 1024.0), WALL + 24.0)
    _samples, types = parse(text)
    assert types and all(name.startswith("igmp_querier_") for name in types)
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            name, kind = line.split()[2:4]
            assert re.match(r"^[a-z_][a-z0-9_]*$", name), name
            assert name.endswith("_total") == (kind == "counter"), line  # counters, and only they
            assert not re.search(r"_(ms|milliseconds|minutes|hours|bytes_total_total)$", name), name
            assert ("time" not in name and "age" not in name and "timeout" not in name
                    and "interval" not in name) or name.endswith("_seconds"), name
        elif line and not line.startswith("#"):
            assert 'interface="eth0"' in line, line


def test_label_values_are_escaped():
    document = dict(doc(took_over(), 1024.0), version='0.1"\\\n')
    samples, _types = parse(metrics.render(document, WALL + 24.0))
    assert one(samples, "igmp_querier_info", version='0.1"\\\n') == 1


def test_two_interfaces_in_one_textfile_directory_parse_together():
    text = metrics.render(doc(took_over(), 1024.0, interface="eth0"), WALL + 24.0) + \
        metrics.render(doc(took_over(), 1024.0, interface="br-lan"), WALL + 24.0)
    samples, _types = parse(text)
    assert set(dict(k)["interface"] for k in samples["igmp_querier_up"]) == {"eth0", "br-lan"}


def test_daemon_writes_the_metrics_file_atomically_with_the_state_file(tmp_path):
    path = str(tmp_path / "igmp-querier-eth0.prom")
    clock = [1000.0]
    cfg = Config(interface="eth0", timers=T, state_dir=str(tmp_path), metrics_file=path)
    daemon = Daemon(cfg, clock=lambda: clock[0], wall=lambda: WALL + clock[0] - 1000.0)
    daemon.igmp.querier = took_over()
    clock[0] = 1024.0
    old_umask = os.umask(0o077)
    try:
        daemon.write_state(1024.0)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(os.listdir(str(tmp_path))) == ["eth0.json", "igmp-querier-eth0.prom"]  # no temp file left
    samples, _types = parse(open(path).read())
    assert one(samples, "igmp_querier_takeovers_total") == 1
    # The next write replaces the file (a new inode: readers keep the old one whole).
    inode = os.stat(path).st_ino
    daemon.querier.handle(LOWER, codec.Query(2, 10, codec.ANY), 1025.0)
    daemon.write_state(1025.0)
    assert os.stat(path).st_ino != inode
    samples, _types = parse(open(path).read())
    assert one(samples, "igmp_querier_is_querier") == 0 and one(samples, "igmp_querier_role_changes_total") == 3


def test_daemon_records_versions_heard_for_the_health_rule(tmp_path):
    cfg = Config(interface="eth0", timers=T, state_dir=str(tmp_path))
    daemon = Daemon(cfg, clock=lambda: 1002.0, wall=lambda: WALL + 2.0)
    daemon.igmp.querier = Querier(T, ME)
    daemon.querier.start(1000.0)
    daemon._apply(daemon.querier.handle("10.0.0.100", codec.Query(3, 10, codec.ANY, qrv=2, qqi=10), 1001.0), 1001.0)
    daemon.write_state(1002.0)
    written = state.read(state.state_path(str(tmp_path), "eth0"))
    assert written["versions_heard"] == {"3": WALL + 1.0}


def test_an_unwritable_metrics_file_does_not_stop_the_state_file(tmp_path):
    cfg = Config(interface="eth0", timers=T, state_dir=str(tmp_path),
                 metrics_file=str(tmp_path / "missing-dir" / "x.prom"))
    daemon = Daemon(cfg, clock=lambda: 1000.0, wall=lambda: WALL)
    daemon.querier.start(1000.0)
    daemon.write_state(1000.0)
    assert os.path.exists(state.state_path(str(tmp_path), "eth0"))


@pytest.mark.parametrize("value", ["", "dir/", "a\0b"])
def test_metrics_file_flag_is_checked(value, capsys):
    with pytest.raises(SystemExit) as exc:
        config.parse_args(["-i", "eth0", "--metrics-file", value])
    assert exc.value.code == 2
    assert "--metrics-file must be a file path" in capsys.readouterr().err


def test_metrics_file_flag_is_parsed():
    assert config.parse_args(["-i", "eth0", "--metrics-file", "/tmp/m.prom"]).metrics_file == "/tmp/m.prom"
    assert config.parse_args(["-i", "eth0"]).metrics_file is None


def test_the_mld_querier_has_its_own_metric_families_beside_the_ipv4_ones():
    from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.family import MLD

    v6 = Querier(T._replace(mld_version=2), "fe80::10", family=MLD)
    v6.start(1000.0)
    v6.record_sent(1000.0)
    v6.handle("fe80::9", codec.Query(2, 10, "::", qrv=2, qqi=10), 1001.0)
    v6.handle("fe80::20", codec.Report(1, "ff05::1:3"), 1002.0)
    text = metrics.render(doc(took_over(), mld=state.Section(v6, "fe80::10", malformed=4, send_errors=1)), WALL + 3.0)
    samples, types = parse(text)
    labels = dict(next(iter(samples["igmp_querier_mld_info"])))
    assert labels == {"interface": "eth0", "querier": "fe80::9", "address": "fe80::10", "role": "non-querier",
                      "mld_version": "2"}
    assert one(samples, "igmp_querier_mld_is_querier") == 0 and one(samples, "igmp_querier_is_querier") == 1
    assert one(samples, "igmp_querier_mld_queries_sent_total") == 1
    assert one(samples, "igmp_querier_mld_elections_lost_total") == 1
    assert one(samples, "igmp_querier_mld_malformed_frames_total") == 4
    assert one(samples, "igmp_querier_mld_send_errors_total") == 1
    assert one(samples, "igmp_querier_mld_groups") == 1 and one(samples, "igmp_querier_groups") == 1
    assert one(samples, "igmp_querier_mld_last_query_heard_age_seconds") == 2.0
    assert types["igmp_querier_mld_queries_sent"] == "counter"
    assert one(samples, "igmp_querier_malformed_frames_total") == 5  # the IPv4 figures are untouched


def test_without_mld_there_is_no_mld_metric():
    samples, _types = parse(metrics.render(doc(took_over()), WALL + 3.0))
    assert not [name for name in samples if name.startswith("igmp_querier_mld_")]

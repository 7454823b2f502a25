"""igmp_status and the MLD side of the daemon: the report of a schema-2 state document (its
"mld" object) and of a schema-1 one (none), the summary line, health, and the queriers option.

Documents are the daemon's own: a real ``election.Querier`` snapshotted by ``state.build``, with
the "mld" object of the schema-2 shape beside it. The wall clock is a fixed number (NOW).
"""

import functools
import os
import time

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, codec_mld, config, election, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.family import MLD
from ansible_collections.multicast.igmp.plugins.modules import igmp_status
from tests.helpers import run_module as run_main

A, MEMBER = "10.0.0.9", "10.0.0.20"
L9, L10, L100 = "fe80::9", "fe80::10", "fe80::100"  # as strings ::10 < ::100 < ::9
NOW = 1767225600.0
MONO = 1000.0
run_module = functools.partial(run_main, igmp_status.main)


def igmp_document(now=NOW):
    """Schema 1 as the daemon writes it: querier at A, one member, a query sent 2 s ago."""
    q = election.Querier(config.Timers(query_interval=10.0, max_response_time=1.0), A)
    q.start(MONO - 2.0)
    q.record_sent(MONO - 2.0)
    q.handle(MEMBER, codec.Report(2, "239.1.2.3"), MONO - 1.0)
    return state.build(q, interface="eth0", address=A, link="up", pid=os.getpid(), version="0.1.0", started=now - 300.0,
                       malformed=0, now_mono=MONO, now_wall=now)


def mld_object(now=NOW, **changes):
    """The schema-2 "mld" object: MLDv2 querier at fe80::9, one member, a query sent 2 s ago."""
    mld = {
        "address": L9, "role": "querier", "querier": L9, "mld_version": 2,
        "queries_sent": 3, "queries_heard": 0, "queries_ignored": 1,
        "last_query_sent": now - 2.0, "last_query_heard": None, "last_query_heard_from": None,
        "elections_won": 1, "elections_lost": 0, "takeovers": 0, "malformed_dropped": 2,
        "groups_overflow": 0, "send_errors": 0, "role_changes": 0, "recent_role_changes": [],
        "versions_heard": {},
        "groups": [{"group": "ff05::1:3", "last_reporter": "fe80::20", "version": 2, "expires": now + 19.0}],
        "timers": {"query_interval": 10.0, "max_response_time": 1.0, "robustness": 2, "startup_query_count": 2,
                   "startup_query_interval": 2.5, "timeout": 21.0, "snooping_timeout": None},
        "effective": {"query_interval": 10.0, "robustness": 2, "timeout": 21.0},
    }
    mld.update(changes)
    return mld


def schema2(now=NOW, **changes):
    document = igmp_document(now)
    document.update(schema=2, mld=mld_object(now, **changes))
    return state.validate(document)


def report(document, **kwargs):
    return igmp_status.report("eth0", NOW, document=document, state_file="/run/igmp-querier/eth0.json", **kwargs)


def codes(entry):
    return [r["code"] for r in entry["health_reasons"]]


# --- the report ----------------------------------------------------------------------------
def test_schema2_mld_side_is_reported_beside_the_igmp_one():
    entry = report(schema2())
    assert (entry["role"], entry["address"], entry["querier"]) == ("querier", A, A)  # IGMP as before
    mld = entry["mld"]
    assert (mld["role"], mld["address"], mld["querier"], mld["is_querier"]) == ("querier", L9, L9, True)
    assert mld["mld_version"] == 2 and mld["queries_sent"] == 3 and mld["queries_ignored"] == 1
    assert mld["last_query_sent_age"] == 2.0 and mld["last_query_heard_age"] is None
    assert mld["malformed_dropped"] == 2 and mld["elections_won"] == 1
    assert mld["groups"] == [{"group": "ff05::1:3", "last_reporter": "fe80::20", "version": 2,
                              "expires": NOW + 19.0, "expires_in": 19.0}]
    assert mld["effective"] == {"query_interval": 10.0, "robustness": 2, "timeout": 21.0}
    assert entry["msg"] == ("eth0: IGMP querier 10.0.0.9 (us), 1 sent, 1 group; "
                            "MLD querier fe80::9 (us), 3 sent, 1 group")
    assert entry["health"] == "ok", entry["health_reasons"]


def test_mld_keys_follow_the_igmp_report_and_are_documented():
    import yaml
    mld = report(schema2())["mld"]
    assert set(mld) == set(igmp_status.MLD_REPORT_KEYS)
    # every key of the schema's mld object is copied or derived; the daemon-wide ones are not repeated
    schema = set(state.MLD_FIELDS) | set(state.COUNTERS)
    ages = {"last_query_sent": "last_query_sent_age", "last_query_heard": "last_query_heard_age"}
    assert set(igmp_status.MLD_COPIED) | set(igmp_status.MLD_DERIVED) == {ages.get(key, key) for key in schema}
    assert "pid" not in mld and "link" not in mld and "igmp_version" not in mld
    documented = yaml.safe_load(igmp_status.RETURN)["interfaces"]["contains"]
    assert set(documented["mld"]["sample"]) == set(mld)


def test_schema1_document_has_no_mld_side_and_the_old_summary():
    entry = report(igmp_document())
    assert entry["mld"] is None
    assert entry["msg"] == "eth0: querier 10.0.0.9 (us), 1 sent, 1 group"
    assert entry["health"] == "ok"


def test_mld_non_querier_names_the_elected_querier():
    entry = report(schema2(role="non-querier", querier=L10, address=L100, last_query_heard=NOW - 1.5,
                           last_query_heard_from=L10, queries_heard=4, groups=[]))
    assert entry["mld"]["is_querier"] is False and entry["mld"]["last_query_heard_age"] == 1.5
    assert entry["msg"].endswith("; MLD non-querier, querier is fe80::10 (heard 1.5 s ago), 0 groups")


def test_mld_side_waiting_for_a_link_local_address_says_so():
    entry = report(schema2(address=None, querier=None, queries_sent=0, last_query_sent=None, groups=[]))
    assert entry["mld"]["address"] is None
    assert entry["msg"].endswith("; MLD waiting for a link-local address (querier, 0 groups)")


def test_stale_state_says_so_once_and_judges_no_mld_rule():
    document = schema2(now=NOW - 100.0)  # not written for 100 s, 10 query intervals
    entry = report(document)
    assert entry["stale"] is True and "MLD" not in entry["msg"]
    assert codes(entry) == ["stale"]


# --- health of the MLD side -----------------------------------------------------------------
def test_mld_querier_silent_past_the_timeout_is_critical_while_igmp_is_fine():
    entry = report(schema2(last_query_sent=NOW - 60.0))
    assert entry["health"] == "critical"
    assert codes(entry) == ["mld_no_querier"]
    assert entry["health_reasons"][0]["msg"].startswith("MLD: no query sent for 60 s")


def test_mld_mixed_versions_names_mld():
    entry = report(schema2(versions_heard={"1": NOW - 5.0}))
    assert codes(entry) == ["mld_mixed_versions"] and entry["health"] == "warning"
    assert entry["health_reasons"][0]["msg"] == "MLD: LAN mixes MLD versions: heard MLDv1, we send MLDv2"


def test_mld_unspecified_querier_is_critical():
    entry = report(schema2(role="non-querier", querier="::", last_query_heard=NOW - 1.0))
    assert codes(entry) == ["mld_querier_unspecified"]


def test_mld_send_errors_and_flapping_are_the_mld_sides():
    entry = report(schema2(send_errors=3, recent_role_changes=[NOW - 40, NOW - 30, NOW - 20, NOW - 10]))
    assert sorted(codes(entry)) == ["mld_flapping", "mld_send_errors"]
    assert igmp_status.health.judge(igmp_document(), NOW)["reasons"] == []  # the IGMP side has neither


def test_foreign_mld_querier_judged_against_the_ipv6_queriers_only():
    document = schema2(role="non-querier", querier=L10, last_query_heard=NOW - 1.0)
    assert codes(report(document, ours=[A, "FE80::0010"])) == []  # any spelling of fe80::10
    assert codes(report(document, ours=[A, L9])) == ["mld_foreign_querier"]
    assert codes(report(document, ours=[A])) == []  # no IPv6 address named: not judged
    assert codes(report(document, ours=[L10])) == []  # no IPv4 address named: IGMP not judged


def test_heard_queriers_are_judged_per_family():
    heard = [{"source": A, "family": "ipv4", "general": 3, "last_seen_age": 1.0},
             {"source": L9, "family": "ipv6", "general": 3, "last_seen_age": 1.0}]
    assert codes(report(schema2(), heard=heard)) == []  # one IGMP and one MLD querier: as it should be
    heard.append({"source": L10, "family": "ipv6", "general": 2, "last_seen_age": 2.0})
    entry = report(schema2(), heard=heard)
    assert codes(entry) == ["mld_two_queriers"]
    assert "fe80::10, fe80::9" in entry["health_reasons"][0]["msg"]


# --- the queriers option ----------------------------------------------------------------------
@pytest.mark.parametrize("address", ["fe80::9", "FE80::10", "10.0.0.9"])
def test_queriers_take_ipv4_and_ipv6_link_local_addresses(tmp_path, capsys, address):
    rc, out = run_module(capsys, state_dir=str(tmp_path), queriers=[address])
    assert rc == 0, out["msg"]


@pytest.mark.parametrize("address", ["2001:db8::1", "fe80::1%eth0", "fe80::zz", "10.0.0.256", "ff02::1"])
def test_queriers_refuse_other_addresses(tmp_path, capsys, address):
    rc, out = run_module(capsys, state_dir=str(tmp_path), queriers=[address])
    assert rc == 1
    assert out["msg"] == ("queriers must list IPv4 addresses or IPv6 link-local addresses (fe80::/10), got %r"
                          % address)


# --- state files the daemon's code writes, read by main() -------------------------------------
def write_file(directory, mld_sent_ago=2.0, schema1=False):
    """A state file from real Queriers (IPv4 at A, MLDv2 at fe80::9 with one member), written now."""
    wall = time.time()
    timers = config.Timers(query_interval=10.0, max_response_time=1.0, mld_version=2)
    v4 = election.Querier(timers, A)
    v4.start(MONO - 2.0)
    v4.record_sent(MONO - 2.0)
    side = None
    if not schema1:
        v6 = election.Querier(timers, L9, family=MLD)
        v6.start(MONO - mld_sent_ago)
        v6.record_sent(MONO - mld_sent_ago)
        report6 = codec_mld.encode_ipv6("fe80::20", "ff05::1:3", codec_mld.encode_report_mld1("ff05::1:3"))
        v6.handle_packet(codec_mld.decode_ipv6(report6), MONO - 1.0)
        side = state.Section(v6, L9)
    document = state.build(v4, interface="eth0", address=A, link="up", pid=os.getpid(), version="0.2.0",
                           started=wall - 300.0, malformed=0, now_mono=MONO, now_wall=wall, mld=side)
    if schema1:  # as a daemon before MLD wrote it
        document["schema"] = 1
        for key in state.COUNTERS:
            del document[key]
    path = state.state_path(str(directory), "eth0")
    state.write(path, document)
    return path


def test_main_reports_the_mld_side_of_a_daemons_schema2_file(tmp_path, capsys):
    write_file(tmp_path)
    rc, out = run_module(capsys, state_dir=str(tmp_path), queriers=[A, L9], fail_on="warning")
    assert rc == 0, out["msg"]
    entry = out["interfaces"]["eth0"]
    mld = entry["mld"]
    assert (mld["address"], mld["role"], mld["querier"], mld["is_querier"], mld["mld_version"]) == (
        L9, "querier", L9, True, 2)
    assert [(g["group"], g["last_reporter"], g["version"]) for g in mld["groups"]] == [("ff05::1:3", "fe80::20", 1)]
    assert mld["last_query_sent_age"] == pytest.approx(2.0, abs=1.0)
    assert out["msg"].startswith("eth0: IGMP querier 10.0.0.9 (us), 1 sent, 0 groups; MLD querier fe80::9 (us), 1 sent, 1 group")
    assert entry["health"] == "ok" and out["health"] == "ok"


def test_main_reads_a_schema1_file_of_a_daemon_before_mld(tmp_path, capsys):
    write_file(tmp_path, schema1=True)
    rc, out = run_module(capsys, state_dir=str(tmp_path))
    assert rc == 0 and out["interfaces"]["eth0"]["state_error"] is None
    assert out["interfaces"]["eth0"]["mld"] is None
    assert out["msg"] == "eth0: querier 10.0.0.9 (us), 1 sent, 0 groups"


def test_fail_on_critical_fails_the_host_for_a_silent_mld_querier(tmp_path, capsys):
    write_file(tmp_path, mld_sent_ago=100.0)
    rc, out = run_module(capsys, state_dir=str(tmp_path), fail_on="critical")
    assert rc == 1 and out["failed"] is True and out["health"] == "critical"
    assert [r["code"] for r in out["interfaces"]["eth0"]["health_reasons"]] == ["mld_no_querier"]
    assert out["msg"].startswith("eth0: health critical: MLD: no query sent for 100 s (timeout ")

"""Schema 2: the ``mld`` object beside the IPv4 top level, and schema-1 files still read."""

import json

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec_mld, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import Querier
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.family import MLD
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.state import Section, StateError
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers

T = Timers(query_interval=10.0, max_response_time=1.0, mld_version=2)
NOW = 1700000000.0


def document(mld=True):
    v4 = Querier(T, "192.168.1.5")
    v4.start(0.0)
    v6 = Querier(T, "fe80::5", family=MLD)
    v6.start(0.0)
    frame = codec_mld.encode_ipv6("fe80::7", "ff05::1", codec_mld.encode_report_mld1("ff05::1"))
    v6.handle_packet(codec_mld.decode_ipv6(frame), 1.0)
    v6.handle_packet(codec_mld.decode_ipv6(codec_mld.encode_ipv6(
        "fe80::1", "ff02::1", codec_mld.encode_query_mld(1, 1000, 2, 10.0))), 2.0)
    side = Section(v6, "fe80::5", malformed=3, send_errors=1, versions_heard={1: 2.0}) if mld else None
    return state.build(v4, interface="eth0", address="192.168.1.5", link="up", pid=1, version="0.2.0", started=NOW,
                       malformed=0, now_mono=5.0, now_wall=NOW, mld=side)


def roundtrip(doc):
    return state.validate(json.loads(json.dumps(doc)), NOW)


def test_the_mld_object_has_the_keys_of_the_top_level_for_ipv6():
    doc = roundtrip(document())
    mld = doc["mld"]
    assert doc["schema"] == 2
    assert set(state.SECTION_FIELDS) | set(state.COUNTERS) <= set(mld)
    assert (mld["address"], mld["role"], mld["querier"], mld["mld_version"]) == ("fe80::5", "non-querier", "fe80::1", 2)
    assert (mld["malformed_dropped"], mld["send_errors"], mld["versions_heard"]) == (3, 1, {"1": NOW - 3.0})
    assert mld["groups"] == [{"group": "ff05::1", "last_reporter": "fe80::7", "version": 1, "expires": NOW - 4.0 + 21.0}]
    assert mld["timers"] == doc["timers"]
    assert "mld_version" not in doc and "igmp_version" not in mld
    assert doc["querier"] == "192.168.1.5" and doc["role"] == "querier"


def test_without_mld_there_is_no_mld_object():
    assert "mld" not in roundtrip(document(mld=False))


def test_a_schema_1_file_of_an_older_daemon_still_reads():
    doc = document(mld=False)
    doc["schema"] = 1
    for key in state.COUNTERS:
        del doc[key]
    assert roundtrip(doc)["queries_ignored"] == 0


def _set(path, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


@pytest.mark.parametrize("name, change, reason", [
    ("ipv4 in mld", _set(("mld", "querier"), "10.0.0.1"), "state mld field 'querier' is '10.0.0.1', not an IPv6 address"),
    ("ipv6 at top", _set(("querier",), "fe80::1"), "state field 'querier' is 'fe80::1', not an IPv4 address"),
    ("mld version 3", _set(("mld", "mld_version"), 3), "state mld field 'mld_version' is 3, expected 1 or 2"),
    ("mld not object", _set(("mld",), [1]), "state field 'mld' is a JSON array, not an object of schema 2"),
    ("mld in schema 1", _set(("schema",), 1), "state field 'mld' is a JSON object, not an object of schema 2"),
    ("ipv4 group", _set(("mld", "groups", 0, "group"), "239.1.1.1"), "an IPv6 multicast address"),
    ("group version 3", _set(("mld", "groups", 0, "version"), 3), "expected 1 or 2"),
    ("escape role", _set(("mld", "role"), "\x1b[2J"), "state mld field 'role'"),
    ("no takeovers", lambda d: d["mld"].pop("takeovers"), "state mld has no 'takeovers'"),
    ("inf timer", _set(("mld", "effective", "timeout"), float("inf")), "state mld effective 'timeout'"),
])
def test_a_broken_mld_object_is_refused_with_the_field_named(name, change, reason):
    doc = json.loads(json.dumps(document()))
    change(doc)
    with pytest.raises(StateError) as exc:
        state.validate(doc, NOW)
    assert reason in str(exc.value), name

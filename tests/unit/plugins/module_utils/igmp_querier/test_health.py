"""Health verdicts: every rule of health.py on state documents built from a real Querier (fake clock)."""

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, health, state
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers, human
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import Querier
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.groups import MAX_GROUPS

T = Timers(query_interval=10.0, max_response_time=1.0, robustness=2)  # timeout 20.5 s
WALL = 1700000000.0  # wall clock at mono 1000.0
ME, LOWER, HIGHER = "10.0.0.10", "10.0.0.9", "10.0.0.100"


def doc(q, mono, **kwargs):
    """The state document the daemon would write at monotonic ``mono``."""
    return state.validate(state.build(q, interface="eth0", address=q.address, link=kwargs.pop("link", "up"), pid=1,
                                      version="0.1.0", started=WALL, malformed=0, now_mono=mono,
                                      now_wall=WALL + mono - 1000.0, **kwargs))


def at(mono):
    return WALL + mono - 1000.0


def codes(verdict):
    return [r["code"] for r in verdict["reasons"]]


def querier():
    q = Querier(T, ME)
    q.start(1000.0)
    q.record_sent(1000.0)
    return q


def non_querier(heard_at=1001.0):
    q = querier()
    q.handle(LOWER, codec.Query(2, 10, codec.ANY), heard_at)
    return q


def test_a_fresh_querier_is_ok():
    verdict = health.judge(doc(querier(), 1001.0), at(1001.0), active=True, enabled=True, ours={ME, LOWER})
    assert verdict == {"health": "ok", "reasons": []}
    assert health.summary(verdict) == "ok"


def test_a_non_querier_hearing_one_of_ours_is_ok():
    verdict = health.judge(doc(non_querier(), 1002.0), at(1002.0), active=True, enabled=True, ours={ME, LOWER})
    assert verdict["health"] == "ok", verdict


def test_not_running_under_systemd_is_critical():
    verdict = health.judge(doc(querier(), 1001.0), at(1001.0), active=False, enabled=True)
    assert verdict["health"] == "critical" and codes(verdict)[0] == "not_running"


def test_a_gone_process_is_critical_even_with_a_fresh_file():
    verdict = health.judge(doc(querier(), 1001.0), at(1001.0), process_alive=False)
    assert verdict["health"] == "critical" and "not_running" in codes(verdict)
    assert "process 1 is gone" in health.summary(verdict)


def test_not_enabled_is_a_warning():
    verdict = health.judge(doc(querier(), 1001.0), at(1001.0), active=True, enabled=False)
    assert verdict["health"] == "warning" and codes(verdict) == ["not_enabled"]


def test_installed_without_a_state_file_is_critical_and_not_installed_too():
    assert codes(health.judge(None, at(1000.0), active=True)) == ["no_state"]
    stopped = health.judge(None, at(1000.0), active=False, enabled=True)
    assert codes(stopped) == ["not_running"] and stopped["health"] == "critical"
    nothing = health.judge(None, at(1000.0), installed=False)
    assert codes(nothing) == ["not_installed"] and nothing["health"] == "critical"


def test_an_unreadable_state_file_is_critical():
    verdict = health.judge(None, at(1000.0), state_error="state is not a JSON object")
    assert codes(verdict) == ["state_unreadable"] and verdict["health"] == "critical"
    assert "not a JSON object" in health.summary(verdict)


def test_stale_state_is_critical_and_hides_what_the_file_claims():
    document = doc(querier(), 1001.0)
    assert "stale" not in codes(health.judge(document, at(1001.0) + 30.9))  # 3 intervals + 1 s
    verdict = health.judge(document, at(1001.0) + 31.1)
    assert codes(verdict) == ["stale"] and verdict["health"] == "critical"
    assert "age 31.1 s, limit 31 s" in verdict["reasons"][0]["msg"]


@pytest.mark.parametrize("updated", [float("nan"), WALL + 3600.0])
def test_updated_nan_or_in_the_future_is_stale(updated):
    document = dict(doc(querier(), 1001.0), updated=updated)
    assert codes(health.judge(document, at(1001.0))) == ["stale"]


def test_link_down_is_a_warning():
    verdict = health.judge(doc(querier(), 1001.0, link="down"), at(1001.0))
    assert codes(verdict) == ["link_down"] and verdict["health"] == "warning"


def test_no_query_heard_for_longer_than_the_timeout_is_critical():
    q = non_querier(heard_at=1001.0)
    # The daemon would have taken over by now; the file says it did not (hung clock, bug).
    document = doc(q, 1001.0)
    document["updated"] = at(1024.0)
    assert health.judge(document, at(1023.0))["health"] == "ok"  # 22 s < 20.5 + 2
    verdict = health.judge(document, at(1024.0))
    assert codes(verdict) == ["no_querier"] and verdict["health"] == "critical"
    assert "no query heard for 23 s (timeout 20.5 s)" in verdict["reasons"][0]["msg"]


def test_a_querier_that_stopped_sending_is_critical():
    document = doc(querier(), 1001.0)
    document["updated"] = at(1030.0)
    assert codes(health.judge(document, at(1030.0))) == ["no_querier"]


def test_a_foreign_querier_is_critical_only_when_ours_are_named():
    document = doc(non_querier(), 1002.0)
    assert health.judge(document, at(1002.0))["health"] == "ok"
    verdict = health.judge(document, at(1002.0), ours=[ME, HIGHER])
    assert codes(verdict) == ["foreign_querier"] and verdict["health"] == "critical"
    assert "10.0.0.9 is not one of ours" in verdict["reasons"][0]["msg"]


def test_querier_0_0_0_0_is_critical():
    document = dict(doc(non_querier(), 1002.0), querier="0.0.0.0")
    assert codes(health.judge(document, at(1002.0))) == ["querier_unspecified"]


def test_mixed_versions_heard_recently_is_a_warning_and_expires():
    q = querier()
    q.handle(HIGHER, codec.Query(3, 10, codec.ANY, qrv=2, qqi=10), 1001.0)  # we win; it speaks v3
    document = doc(q, 1001.0, versions_heard={3: 1001.0})
    verdict = health.judge(document, at(1001.0))
    assert codes(verdict) == ["mixed_versions"] and verdict["health"] == "warning"
    assert "heard IGMPv3, we send IGMPv2" in verdict["reasons"][0]["msg"]
    document["updated"] = at(1023.0)  # older-version window: 2 x 10 + 1 = 21 s
    document["last_query_sent"] = at(1022.0)
    assert health.judge(document, at(1023.0))["health"] == "ok"
    assert health.judge(doc(q, 1001.0, versions_heard={2: 1001.0}), at(1001.0))["health"] == "ok"


def test_role_flapping_is_a_warning():
    q = querier()
    for k in range(2):  # lose, take over, lose, take over: 4 changes in 44 s (< 5 intervals)
        base = 1000.0 + 22.0 * k
        q.handle(LOWER, codec.Query(2, 10, codec.ANY), base + 1.0)
        q.tick(base + 22.0)
        q.record_sent(base + 22.0)
    assert q.role_changes == 4
    document = doc(q, 1044.0)
    verdict = health.judge(document, at(1044.0))
    assert codes(verdict) == ["flapping"] and verdict["health"] == "warning"
    assert "role changed 4 times in 50 s" in verdict["reasons"][0]["msg"]
    # One failover and the winner's return are not flapping.
    assert health.judge(dict(document, recent_role_changes=document["recent_role_changes"][-2:]),
                        at(1044.0))["health"] == "ok"


def test_group_table_full_or_overflowed_is_a_warning():
    q = querier()
    q.groups.max_groups = 2
    for n, group in enumerate(("239.1.1.1", "239.1.1.2", "239.1.1.3")):
        q.handle("10.0.0.%d" % (20 + n), codec.Report(2, group), 1000.5)
    document = doc(q, 1001.0)
    assert document["groups_overflow"] == 1
    verdict = health.judge(document, at(1001.0))
    assert codes(verdict) == ["groups_full"] and verdict["health"] == "warning"
    groups = [{"group": "239.%d" % n, "last_reporter": None, "version": 2, "expires": at(1100.0)} for n in range(MAX_GROUPS)]
    full = dict(doc(querier(), 1001.0), groups=groups)
    assert codes(health.judge(full, at(1001.0))) == ["groups_full"]


def test_send_errors_are_a_warning():
    verdict = health.judge(doc(querier(), 1001.0, send_errors=3), at(1001.0))
    assert codes(verdict) == ["send_errors"] and "3 queries could not be sent" in verdict["reasons"][0]["msg"]


def test_reasons_are_worst_first_and_the_verdict_is_the_worst():
    document = doc(non_querier(), 1002.0, send_errors=1)
    verdict = health.judge(document, at(1002.0), active=True, enabled=False, ours=[ME])
    assert codes(verdict) == ["foreign_querier", "not_enabled", "send_errors"]
    assert verdict["health"] == "critical"
    assert health.summary(verdict).startswith("critical: elected querier 10.0.0.9 is not one of ours; unit not enabled")


def test_every_rule_has_a_documented_level():
    for code, level in health.RULES.items():
        assert level in (health.WARNING, health.CRITICAL)
        assert "``%s``: %s" % (code, level) in health.__doc__


@pytest.mark.parametrize("key, value", [
    ("effective", {"query_interval": "x", "timeout": [], "robustness": None}),
    ("timers", {"query_interval": {}, "max_response_time": "a"}),
    ("recent_role_changes", ["a", None, float("inf")]),
    ("versions_heard", {"3": "soon"}),
    ("groups_overflow", float("nan")),
    ("groups", "many"),
])
def test_hostile_values_never_raise(key, value):
    document = dict(doc(querier(), 1001.0), **{key: value})
    verdict = health.judge(document, at(1001.0))
    assert verdict["health"] in health.LEVELS


def test_thresholds():
    assert health.worst([]) == "ok"
    assert health.worst(["ok", "critical", "warning"]) == "critical"
    assert health.at_least("critical", "warning") and health.at_least("warning", "warning")
    assert not health.at_least("warning", "critical") and not health.at_least("critical", "never")


@pytest.mark.parametrize("value, text", [(8094720.0, "8094720"), (2.5, "2.5"), (31744, "31744"),
                                         (20.0, "20"), (0.05, "0.1"), (123.4, "123")])
def test_numbers_print_humanly(value, text):
    assert health.fmt(value) == text


@pytest.mark.parametrize("value, text", [(8094720.0, "8094720"), (25.5, "25.5"), (0.25, "0.25"), (1e10, "10000000000"),
                                         (0.0001, "0.0001"), (float("nan"), "nan"), (3174.4, "3174.4")])
def test_config_messages_print_numbers_humanly(value, text):
    assert human(value) == text


def heard(source, general=3, age=0.5):
    return {"source": source, "general": general, "last_seen_age": age, "count": general}


def test_two_queriers_heard_on_the_wire_at_once_are_critical():
    document = doc(querier(), 1001.0)
    verdict = health.judge(document, at(1001.0), heard=[heard(LOWER), heard(ME)])
    assert codes(verdict) == ["two_queriers"] and verdict["health"] == "critical"
    assert "2 queriers heard on the wire at once: 10.0.0.10, 10.0.0.9" in verdict["reasons"][0]["msg"]
    # One that backed off more than a query interval before the capture ended does not count,
    # nor do a switch's proxy queries or sources that sent no General Query.
    assert health.judge(document, at(1001.0), heard=[heard(LOWER, age=11.5), heard(ME)])["health"] == "ok"
    assert health.judge(document, at(1001.0), heard=[heard("0.0.0.0"), heard(ME)])["health"] == "ok"
    assert health.judge(document, at(1001.0), heard=[heard(LOWER, general=0), heard(ME)])["health"] == "ok"
    assert health.judge(document, at(1001.0), heard=[{"source": None}, "x", heard(ME)])["health"] == "ok"

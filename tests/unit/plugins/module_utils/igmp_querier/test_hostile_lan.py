"""What a hostile or misconfigured host on the LAN can do to the state machine (issue: hostile
and misaddressed traffic must never silence, slow or starve the querier). Fake clock throughout;
every datagram goes through the real codec."""

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, gsq
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.codec import ANY, GroupRecord
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import (
    MAX_QUERIERS,
    NON_QUERIER,
    QUERIER,
    GroupJoined,
    GroupTableFull,
    QueryIgnored,
    RoleChanged,
    SendQuery,
    TimeoutClamped,
)
from test_election import HOST, HOST2, LOWER, LOWEST, ME, MRT, TIMEOUT, G1, G2, T, of, run, sends, started, wire


def datagram(payload, src=LOWER, dst=codec.ALL_HOSTS, **ip):
    packet = codec.decode_ipv4(codec.encode_ipv4(src, dst, payload, **ip))
    assert isinstance(packet, codec.Packet), packet
    return packet


V2_GENERAL = codec.encode_query_v2(MRT)


# --- bounded, temporary adoption ------------------------------------------------------------------

def test_a_forged_qrv7_qqic_255_query_silences_us_no_longer_than_the_switches_keep_memberships():
    q = started(T._replace(igmp_version=3))
    forged = datagram(codec.encode_query_v3(MRT, 7, 31744))
    events = q.handle_packet(forged, 1.0)
    cap = T.timeout_cap  # 260 - 1 - 1
    assert cap == 258.0
    assert of(events, TimeoutClamped) == [TimeoutClamped(LOWER, 7 * 31744 + 0.5, cap)]
    assert q.timeout == cap and q.next_deadline() == 1.0 + cap
    assert q.tick(1.0 + cap - 0.001) == []
    takeover = q.tick(1.0 + cap)
    assert sends(takeover) == [SendQuery(ANY, MRT, "takeover")]
    # then our own interval and robustness, not the forged 31,744 s
    assert (q.query_interval, q.robustness, q.timeout) == (10.0, 2, TIMEOUT)
    assert [t for t, e in run(q, 1.0 + cap + 30.0) if isinstance(e, SendQuery)] == [
        1.0 + cap + 10.0, 1.0 + cap + 20.0, 1.0 + cap + 30.0]


def test_the_clamp_is_reported_once_per_querier():
    q = started(T._replace(igmp_version=3))
    assert of(q.handle_packet(datagram(codec.encode_query_v3(MRT, 7, 31744)), 1.0), TimeoutClamped)
    assert of(q.handle_packet(datagram(codec.encode_query_v3(MRT, 6, 31744)), 2.0), TimeoutClamped) == []
    assert of(q.handle_packet(datagram(codec.encode_query_v3(MRT, 7, 31744), src=LOWEST), 3.0), TimeoutClamped)


def test_short_timers_with_an_adopted_long_interval_return_to_our_own_after_takeover():
    # -q 2 -r 1 -t 4.5 next to a querier advertising QQIC 20: its own RFC timeout (40.5 s) holds
    # while it queries, and after the takeover we query every 2 s, not every 20 s.
    timers = Timers(query_interval=2.0, max_response_time=1.0, robustness=2, timeout=4.5, igmp_version=3)
    q = started(timers)
    q.handle_packet(datagram(codec.encode_query_v3(MRT, 2, 20)), 1.0)
    assert q.role == NON_QUERIER and q.timeout == 40.5
    assert of(q.tick(41.5), RoleChanged)
    assert q.timeout == 4.5
    assert [t for t, e in run(q, 47.5) if isinstance(e, SendQuery)] == [43.5, 45.5, 47.5]


def test_restart_queries_with_the_configured_timers():
    q = started(T._replace(igmp_version=3))
    q.handle_packet(datagram(codec.encode_query_v3(MRT, 3, 30)), 1.0)
    assert (q.robustness, q.query_interval) == (3, 30.0)
    q.start(500.0)  # the link came back long after the querier went
    assert (q.robustness, q.query_interval, q.role) == (2, 10.0, QUERIER)


# --- only queries that hosts act on count ---------------------------------------------------------

MISADDRESSED = [
    ("unicast to us", dict(dst=ME), "general query sent to %s, not 224.0.0.1" % ME),
    ("general query to 224.0.0.2", dict(dst=codec.ALL_ROUTERS), "general query sent to 224.0.0.2, not 224.0.0.1"),
    ("IP TTL 64", dict(ttl=64), "IP TTL 64, not 1"),
    ("IP TTL 0", dict(ttl=0), "IP TTL 0, not 1"),
    ("Router Alert of length 3", dict(options=b"\x94\x03\x00\x00"), "malformed IP options"),
    ("an option overrunning the header", dict(options=b"\x01\x07\x00\x00"), "malformed IP options"),
    ("an option of length 0", dict(options=b"\x83\x00\x00\x00"), "malformed IP options"),
]


@pytest.mark.parametrize("what, ip, reason", MISADDRESSED, ids=[m[0] for m in MISADDRESSED])
def test_queries_hosts_would_not_answer_are_ignored_and_counted(what, ip, reason):
    q = started()
    events = q.handle_packet(datagram(V2_GENERAL, **ip), 1.0)
    assert events == [QueryIgnored(LOWER, reason)]
    assert (q.role, q.queries_ignored, q.queries_heard, q.elections_lost) == (QUERIER, 1, 0, 0)
    # the control: the same query, well addressed, from the same source wins
    assert of(q.handle_packet(datagram(V2_GENERAL), 2.0), RoleChanged)
    assert q.role == NON_QUERIER and q.elected(2.0) == LOWER


def test_group_specific_queries_must_go_to_their_group():
    q = started()
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 0.5)
    gsq_to_all_hosts = datagram(codec.encode_query_v2(10, G1), dst=codec.ALL_HOSTS)
    assert q.handle_packet(gsq_to_all_hosts, 1.0) == [QueryIgnored(LOWER, "query for group %s sent to 224.0.0.1" % G1)]
    assert q.groups.get(G1).expires == 0.5 + 21.0  # its timer was not lowered either
    assert q.role == QUERIER
    assert of(q.handle_packet(datagram(codec.encode_query_v2(10, G1), dst=G1), 2.0), RoleChanged)


def test_queries_without_router_alert_still_count():
    q = started()
    assert of(q.handle_packet(datagram(V2_GENERAL, router_alert=False), 1.0), RoleChanged)


def test_other_options_beside_router_alert_are_fine():
    q = started()
    options = b"\x01\x94\x04\x00\x00\x00\x00\x00"  # NOP, Router Alert, End of options, padding
    assert of(q.handle_packet(datagram(V2_GENERAL, options=options), 1.0), RoleChanged)


def test_own_looped_back_queries_are_neither_ignored_nor_counted():
    q = started()
    assert q.handle_packet(datagram(V2_GENERAL, src=ME, ttl=64), 1.0) == []
    assert q.handle_packet(datagram(V2_GENERAL, ttl=64), 1.0, own=True) == []
    assert q.queries_ignored == 0


# --- group timers: S flag and source-specific queries ----------------------------------------------

@pytest.mark.parametrize("payload", [
    codec.encode_query_v3(10, 2, 10, G1, suppress=True),
    codec.encode_query_v3(10, 2, 10, G1, sources=("10.9.9.9",)),
], ids=["S flag", "group-and-source-specific"])
def test_s_flag_and_source_specific_queries_leave_group_timers_alone(payload):
    q = started(T._replace(igmp_version=3))
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 0.5)
    q.handle_packet(datagram(codec.encode_query_v3(MRT, 2, 10)), 1.0)  # LOWER is querier
    q.handle_packet(datagram(payload, dst=G1), 2.0)
    assert q.groups.get(G1).expires == 0.5 + 21.0


def test_a_plain_group_specific_query_does_lower_the_group_timer():
    q = started(T._replace(igmp_version=3))
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 0.5)
    q.handle_packet(datagram(codec.encode_query_v3(10, 2, 10, G1), dst=G1), 2.0)
    assert q.groups.get(G1).expires == 2.0 + 2 * 1.0


# --- link-local groups ----------------------------------------------------------------------------

def test_link_local_groups_are_not_put_in_the_table_nor_queried_on_leave():
    q = started()
    run(q, 5.0)
    for group in ("224.0.0.106", "224.0.0.251", "224.0.0.22"):
        assert q.handle(HOST, wire(codec.encode_report_v2(group)), 5.0) == []
    report = codec.encode_report_v3([GroupRecord(codec.CHANGE_TO_EXCLUDE, "224.0.0.251"),
                                     GroupRecord(codec.CHANGE_TO_EXCLUDE, "224.0.1.1")])
    assert q.handle(HOST, wire(report), 5.0) == [GroupJoined("224.0.1.1", HOST, 3)]
    assert [m.group for m in q.groups.memberships()] == ["224.0.1.1"]
    assert q.handle(HOST, wire(codec.encode_leave("224.0.0.251")), 6.0) == []


# --- a full table and a flood of leaves ------------------------------------------------------------

def flood_table(q, now, count=None):
    count = q.groups.max_groups if count is None else count
    records = [GroupRecord(codec.CHANGE_TO_EXCLUDE, "239.100.%d.%d" % (i // 250, i % 250 + 1)) for i in range(count)]
    for start in range(0, len(records), 100):
        q.handle(HOST2, wire(codec.encode_report_v3(records[start:start + 100])), now)


def test_a_leave_still_gets_its_queries_when_the_table_is_full():
    q = started()
    run(q, 5.0)
    flood_table(q, 5.0)
    assert len(q.groups) == q.groups.max_groups
    assert of(q.handle(HOST, wire(codec.encode_report_v2(G1)), 6.0), GroupTableFull) == [GroupTableFull(G1, 1)]
    assert G1 not in q.groups and q.groups.dropped == 1
    assert q.handle(HOST, wire(codec.encode_leave(G1)), 7.0) == [SendQuery(G1, 10, "group-specific")]
    assert [(t, e) for t, e in run(q, 9.0) if e.group == G1] == [(8.0, SendQuery(G1, 10, "group-specific"))]


def test_group_specific_queries_from_a_flood_of_leaves_are_paced_and_coalesced():
    q = started()
    run(q, 5.0)
    records = [GroupRecord(codec.CHANGE_TO_INCLUDE, "239.200.%d.%d" % (i // 250, i % 250 + 1)) for i in range(4096)]
    reports = [wire(codec.encode_report_v3(records[s:s + 180])) for s in range(0, 4096, 180)]
    first = []
    for report in reports:
        first += sends(q.handle(HOST, report, 5.0))
        sends(q.handle(HOST, report, 5.0))  # the same leaves again: coalesced
    assert len(first) == gsq.BURST  # a burst, then the rate
    sent = [(t, e) for t, e in run(q, 200.0) if isinstance(e, SendQuery)]
    specific = [t for t, e in sent if e.group != ANY]
    assert len(first) + len(specific) == 2 * 4096  # robustness 2 each, nothing twice
    for start in range(0, len(specific) - 200, 100):  # never faster than the rate
        window = [t for t in specific if specific[start] <= t < specific[start] + 1.0]
        assert len(window) <= gsq.RATE + 1
    generals = [t for t, e in sent if e.group == ANY]
    assert generals == [12.5 + 10.0 * k for k in range(19)]  # the general schedule never slipped


def test_losing_the_election_drops_the_pending_queries():
    q = started()
    run(q, 5.0)
    q.handle(HOST, wire(codec.encode_leave(G1)), 5.0)
    q.handle(HOST, wire(codec.encode_leave(G2)), 5.0)
    q.handle_packet(datagram(V2_GENERAL), 5.5)
    assert [e for _t, e in run(q, 8.0) if isinstance(e, SendQuery)] == []


# --- bounded cost from many sources ---------------------------------------------------------------

def lower_source(i):
    """The i-th of many distinct addresses, all below ours (10.0.0.5)."""
    return "9.%d.%d.%d" % (i // 62500, i // 250 % 250, i % 250 + 1)


def test_queries_from_many_distinct_lower_sources_keep_the_tables_bounded():
    q = started(T._replace(igmp_version=3))
    for i in range(10000):
        q.handle(lower_source(i), wire(codec.encode_query_v2(MRT)), 1.0 + i * 0.001)
    assert len(q._heard) <= MAX_QUERIERS and len(q._mixed_logged) <= MAX_QUERIERS
    assert q.role == NON_QUERIER
    # the lowest address still heard is the querier; when all go silent, we take over in time
    assert q.elected(1.0 + 9999 * 0.001) == min((lower_source(i) for i in range(10000 - MAX_QUERIERS, 10000)), key=codec.ip_key)
    last = 1.0 + 9999 * 0.001
    assert q.next_deadline() == pytest.approx(last + TIMEOUT)
    assert of(q.tick(last + TIMEOUT), RoleChanged)


def test_the_elected_querier_falls_back_to_the_next_lowest_when_it_goes_silent():
    q = started()
    q.handle(LOWEST, wire(V2_GENERAL), 1.0)
    q.handle(LOWER, wire(V2_GENERAL), 2.0)
    assert q.elected(2.0) == LOWEST
    q.handle(LOWER, wire(V2_GENERAL), 12.0)
    assert q.elected(1.0 + TIMEOUT + 0.001) == LOWER
    assert q.role == NON_QUERIER

"""The one election state machine driving MLD (IPv6): every input goes through the real wire
path (Querier.datagram -> codec_mld.encode_ipv6 -> decode_ipv6 -> handle_packet), on a fake clock."""

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec, codec_mld
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.codec import GroupRecord
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import (
    NON_QUERIER,
    QUERIER,
    AddressChanged,
    Adopted,
    GroupJoined,
    Querier,
    QueryIgnored,
    RoleChanged,
    SendQuery,
    TimeoutClamped,
    VersionMismatch,
)
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.family import MLD
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers

# As for IGMP: QI 10 s, max response 1 s, robustness 2 -> takeover after 20.5 s.
T = Timers(query_interval=10.0, max_response_time=1.0, robustness=2, mld_version=2)
T1 = T._replace(mld_version=1)
TIMEOUT = 20.5
# Numerically A < B < C; as strings "fe80::10" < "fe80::100" < "fe80::9".
A, B, C = "fe80::9", "fe80::10", "fe80::100"
HOST = "fe80::2:1"
G = "ff05::1:3"


def packet(src, payload, dst=None, hop_limit=1):
    """A frame as the daemon's MLD receive path hands it to the querier."""
    if dst is None:
        dst = codec_mld.ALL_NODES
    decoded = codec_mld.decode_ipv6(codec_mld.encode_ipv6(src, dst, payload, hop_limit=hop_limit))
    assert isinstance(decoded, codec.Packet), decoded
    return decoded


def query(src, version=2, robustness=2, interval=10.0, max_resp_ms=1000, group=codec_mld.ANY6, **kw):
    return packet(src, codec_mld.encode_query_mld(version, max_resp_ms, robustness, interval, group), **kw)


def started(address=B, timers=T, now=0.0):
    q = Querier(timers, address, family=MLD)
    q.start(now)
    return q


def sends(events):
    return [e for e in events if isinstance(e, SendQuery)]


def test_queries_are_mld_queries_to_all_nodes_of_the_configured_version():
    for timers, size, version in ((T, 28, 2), (T1, 24, 1)):
        q = Querier(timers, B, family=MLD)
        request = sends(q.start(0.0))[0]
        destination, payload = q.datagram(request)
        assert destination == "ff02::1"
        assert len(payload) == size
        decoded = packet(B, payload).message
        assert isinstance(decoded, codec.Query) and decoded.is_general
        assert (decoded.version, decoded.max_resp_tenths) == (version, 10)
        if version == 2:
            assert (decoded.qrv, decoded.qqi) == (2, 10)


def test_addresses_are_compared_numerically_not_as_strings():
    ten = started(B)
    ten.handle_packet(query(C), 1.0)  # "fe80::100" sorts before "fe80::10"'s successor as text; it is higher
    assert ten.role == QUERIER and ten.elections_won == 1
    events = ten.handle_packet(query(A), 2.0)  # "fe80::9" sorts last as text; it is the lowest
    assert [e for e in events if isinstance(e, RoleChanged)] == [RoleChanged(NON_QUERIER, A, B, "lost")]
    assert ten.elected(2.0) == A


@pytest.mark.parametrize("name, frame, reason", [
    ("global source", lambda: query("2001:db8::1"), "not link-local"),
    ("hop limit 255", lambda: query(A, hop_limit=255), "Hop Limit 255"),
    ("to all routers", lambda: query(A, dst="ff02::2"), "not ff02::1"),
    ("specific to all nodes", lambda: query(A, group=G), "sent to ff02::1"),
])
def test_queries_hosts_would_not_answer_never_win(name, frame, reason):
    q = started(B)
    events = q.handle_packet(frame(), 1.0)
    assert q.role == QUERIER and q.queries_ignored == 1, name
    assert [e for e in events if isinstance(e, QueryIgnored)][0].reason.find(reason) >= 0, events
    q.handle_packet(query(A), 2.0)  # the well-formed control query from the same lower address wins
    assert q.role == NON_QUERIER


def test_own_query_looped_back_is_not_an_election_input():
    q = started(A)
    destination, payload = q.datagram(SendQuery(codec_mld.ANY6, 10, "general"))
    assert q.handle_packet(packet(A, payload, dst=destination), 1.0, own=True) == []
    assert q.role == QUERIER and q.queries_heard == 0


class Lan:
    """Three MLD queriers on one link: each query leaves as real bytes and reaches the others."""

    def __init__(self, addresses):
        self.nodes = {a: Querier(T, a, family=MLD) for a in addresses}
        self.sent = []  # (time, source)
        self.now = 0.0

    def process(self, address, events):
        for event in events:
            node = self.nodes.get(address)
            if isinstance(event, SendQuery) and node is not None:
                destination, payload = node.datagram(event)
                node.record_sent(self.now)
                self.sent.append((self.now, address))
                frame = packet(address, payload, dst=destination)
                for other in [a for a in self.nodes if a != address]:
                    self.process(other, self.nodes[other].handle_packet(frame, self.now))

    def start(self, address, now, fresh=False):
        if fresh:
            self.nodes[address] = Querier(T, address, family=MLD)
        self.now = now
        self.process(address, self.nodes[address].start(now))

    def run(self, until):
        while True:
            due = [q.next_deadline() for q in self.nodes.values() if q.next_deadline() is not None]
            if not due or min(due) > until:
                self.now = until
                return
            self.now = min(due)
            for address, node in list(self.nodes.items()):
                if address in self.nodes and node.next_deadline() is not None and node.next_deadline() <= self.now:
                    self.process(address, node.tick(self.now))

    def senders(self, start, end):
        return sorted({a for t, a in self.sent if start <= t < end})


def test_three_mld_queriers_elect_the_lowest_fail_over_after_the_timeout_and_the_lowest_returns():
    lan = Lan([C, B, A])
    for address in (C, B, A):
        lan.start(address, 0.0)
    lan.run(100.0)
    assert lan.senders(3.0, 100.0) == [A]
    assert lan.nodes[B].elected(100.0) == lan.nodes[C].elected(100.0) == A
    last = max(t for t, a in lan.sent if a == A)
    del lan.nodes[A]
    lan.run(last + TIMEOUT - 0.001)
    assert lan.senders(last + 0.001, last + TIMEOUT) == []
    lan.run(200.0)
    assert lan.nodes[B].role == QUERIER and lan.nodes[B].takeovers == 1
    assert lan.senders(last + TIMEOUT + 0.001, 200.0) == [B]
    assert lan.nodes[C].elected(200.0) == B
    lan.start(A, 210.0, fresh=True)
    lan.run(300.0)
    assert lan.senders(210.001, 300.0) == [A]
    assert lan.nodes[B].role == lan.nodes[C].role == NON_QUERIER


def test_a_non_querier_adopts_the_mldv2_querier_s_qrv_and_qqic_within_the_snooping_cap():
    q = started(B, timers=T._replace(snooping_timeout=100.0))
    events = q.handle_packet(query(A, robustness=7, interval=31744.0), 1.0)
    assert q.role == NON_QUERIER
    adopted = [e for e in events if isinstance(e, Adopted)]
    assert adopted and (adopted[0].robustness, adopted[0].query_interval) == (7, 31744.0)
    assert [e for e in events if isinstance(e, TimeoutClamped)]
    assert q.timeout == 100.0 - 1.0 - 1.0  # snooping - max response - 1 s, as for IGMP


def test_an_mldv1_querier_is_not_adopted_and_the_mixed_versions_are_reported():
    q = started(B)
    events = q.handle_packet(query(A, version=1), 1.0)
    assert not [e for e in events if isinstance(e, Adopted)]
    assert [e for e in events if isinstance(e, VersionMismatch)] == [VersionMismatch(A, 1, 2)]


def test_a_done_gets_address_specific_queries_to_the_group():
    q = started(B)
    q.handle_packet(packet(HOST, codec_mld.encode_report_mld1(G), dst=G), 1.0)
    assert G in q.groups
    events = q.handle_packet(packet(HOST, codec_mld.encode_done(G), dst="ff02::2"), 2.0)
    requests = sends(events)
    assert [r.group for r in requests] == [G]
    destination, payload = q.datagram(requests[0])
    assert destination == G
    decoded = packet(B, payload, dst=destination).message
    assert decoded.group == G and not decoded.is_general


def test_the_group_table_holds_link_scope_groups_but_never_all_nodes():
    q = started(B)
    records = (GroupRecord(codec.CHANGE_TO_EXCLUDE, "ff02::fb"), GroupRecord(codec.CHANGE_TO_EXCLUDE, "ff02::1"))
    events = q.handle_packet(packet(HOST, codec_mld.encode_report_mld2(records), dst="ff02::16"), 1.0)
    assert [(e.group, e.version) for e in events if isinstance(e, GroupJoined)] == [("ff02::fb", 2)]
    assert "ff02::1" not in q.groups and q.groups.get("ff02::fb").version == 2


def test_a_non_querier_whose_new_link_local_is_lowest_takes_over_from_the_new_source():
    q = started(C)
    q.handle_packet(query(B), 1.0)
    assert q.role == NON_QUERIER
    events = q.set_address(A, 5.0)
    assert events[0] == AddressChanged(C, A)
    assert sends(events) == [SendQuery("::", 10, "takeover")]
    assert q.role == QUERIER and q.address == A


def test_a_querier_whose_link_local_changes_queries_at_once_from_the_new_one():
    q = started(A)
    events = q.set_address("fe80::8", 30.0)
    assert sends(events) == [SendQuery("::", 10, "address")]
    q.handle_packet(query(A), 31.0)  # our old address, now someone else's: higher than ours
    assert q.role == QUERIER

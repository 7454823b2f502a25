"""The querier state machine, transition by transition, on a fake clock (plain floats).

Every query and report fed in here is built with the real codec and decoded again, so the
state machine sees exactly what the daemon would hand it. The three-node scenario wires
three :class:`Querier` objects through a tiny in-test LAN that delivers each query to the
others (and back to its sender, flagged as its own).
"""

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.codec import ANY, GroupRecord
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import (
    MIXED_VERSION_LOG_INTERVAL,
    NON_QUERIER,
    QUERIER,
    AddressChanged,
    Adopted,
    ElectionWon,
    GroupExpired,
    GroupJoined,
    Querier,
    QueryHeard,
    RoleChanged,
    SendQuery,
    GroupTableFull,
    VersionMismatch,
)
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.groups import Membership

# Query interval 10 s, max response 1 s, robustness 2:
#   Other Querier Present Interval = 2 x 10 + 1/2 = 20.5 s; startup: 2 queries 2.5 s apart;
#   Group Membership Interval = 2 x 10 + 1 = 21 s. All binary-exact, so deadlines compare exactly.
T = Timers(query_interval=10.0, max_response_time=1.0, robustness=2)
TIMEOUT = 20.5
MRT = 10  # tenths

ME = "10.0.0.5"
LOWER = "10.0.0.3"
LOWEST = "10.0.0.2"
HIGHER = "10.0.0.7"
G1 = "239.1.1.1"
G2 = "239.2.2.2"
G3 = "239.3.3.3"
G4 = "239.4.4.4"
HOST = "10.0.0.20"
HOST2 = "10.0.0.21"


def wire(payload):
    """Encode -> IPv4 -> decode: the message as the daemon's receive path delivers it."""
    packet = codec.decode_ipv4(codec.encode_ipv4("198.51.100.1", "224.0.0.1", payload))
    assert isinstance(packet, codec.Packet), packet
    return packet.message


V1Q = wire(codec.encode_query_v1())
V2Q = wire(codec.encode_query_v2(MRT))
V3Q = wire(codec.encode_query_v3(MRT, 2, 10))


def v3q(robustness, interval, max_resp=MRT):
    return wire(codec.encode_query_v3(max_resp, robustness, interval))


def sends(events):
    return [e for e in events if isinstance(e, SendQuery)]


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def started(timers=T, address=ME, now=0.0):
    q = Querier(timers, address)
    q.start(now)
    return q


def run(q, until):
    """Tick at every deadline up to ``until``; returns [(time, event)]."""
    out = []
    while True:
        deadline = q.next_deadline()
        if deadline is None or deadline > until:
            return out
        out.extend((deadline, e) for e in q.tick(deadline))


# --- startup and schedule --------------------------------------------------------------------

def test_startup_burst_count_and_spacing_then_query_interval():
    q = Querier(Timers(query_interval=20.0, max_response_time=1.0, robustness=3), ME)
    assert q.role == QUERIER
    assert q.start(100.0) == [SendQuery(ANY, 10, "startup")]
    assert q.next_deadline() == 105.0  # startup interval = QI / 4
    assert q.tick(104.999) == []
    assert q.tick(105.0) == [SendQuery(ANY, 10, "startup")]
    assert q.next_deadline() == 110.0
    assert q.tick(110.0) == [SendQuery(ANY, 10, "startup")]  # the third: startup count = robustness
    assert q.next_deadline() == 130.0  # then the query interval
    assert q.tick(129.999) == []
    assert q.tick(130.0) == [SendQuery(ANY, 10, "general")]
    assert q.next_deadline() == 150.0
    assert [(t, e.reason) for t, e in run(q, 200.0)] == [(150.0, "general"), (170.0, "general"), (190.0, "general")]


def test_explicit_startup_count_and_interval():
    timers = Timers(query_interval=60.0, max_response_time=10.0, robustness=2,
                    startup_query_count=4, startup_query_interval=1.5)
    q = Querier(timers, ME)
    first = q.start(0.0)
    times = [0.0] + [t for t, _event in run(q, 130.0)]
    assert sends(first) == [SendQuery(ANY, 100, "startup")]
    assert times == [0.0, 1.5, 3.0, 4.5, 64.5, 124.5]
    assert [e.reason for _t, e in run(Querier(timers, ME), 0)] == []  # nothing before start()


def test_startup_count_one_goes_straight_to_the_interval():
    q = Querier(T._replace(startup_query_count=1), ME)
    assert sends(q.start(0.0)) == [SendQuery(ANY, MRT, "startup")]
    assert q.next_deadline() == 10.0
    assert q.tick(10.0) == [SendQuery(ANY, MRT, "general")]


def test_schedule_does_not_drift_when_ticked_late_and_skips_missed_queries():
    q = started()  # queries at 0, 2.5, then 12.5, 22.5, ...
    run(q, 12.5)
    assert q.next_deadline() == 22.5
    assert sends(q.tick(22.9)) == [SendQuery(ANY, MRT, "general")]
    assert q.next_deadline() == 32.5  # anchored to the schedule, not to the late tick
    assert sends(q.tick(70.0)) == [SendQuery(ANY, MRT, "general")]  # one query, no catch-up burst
    assert q.next_deadline() == 80.0


def test_record_sent_counts():
    q = started()
    q.record_sent(0.0)
    q.record_sent(2.5)
    assert (q.queries_sent, q.last_query_sent) == (2, 2.5)


# --- election -----------------------------------------------------------------------------

def test_lower_address_heard_makes_us_non_querier_at_once():
    q = started()
    events = q.handle(LOWER, V2Q, 1.0)
    assert events == [QueryHeard(LOWER, V2Q), RoleChanged(NON_QUERIER, LOWER, ME, "lost")]
    assert q.role == NON_QUERIER and not q.is_querier
    assert q.elected(1.0) == LOWER
    assert (q.elections_lost, q.queries_heard, q.last_query_heard, q.last_query_heard_from) == (1, 1, 1.0, LOWER)
    # the rest of the startup burst is cancelled: nothing until the takeover deadline
    assert q.next_deadline() == 1.0 + TIMEOUT
    assert sends(q.tick(2.5)) == []
    # hearing it again is no second transition
    assert q.handle(LOWER, V2Q, 11.0) == [QueryHeard(LOWER, V2Q)]
    assert q.elections_lost == 1


def test_higher_address_heard_we_stay_querier_and_win():
    q = started()
    assert q.handle(HIGHER, V2Q, 1.0) == [QueryHeard(HIGHER, V2Q), ElectionWon(HIGHER)]
    assert q.role == QUERIER and q.elected(1.0) == ME
    assert q.elections_won == 1
    # its queries while it backs off are one contest, not many wins
    assert q.handle(HIGHER, V2Q, 11.0) == [QueryHeard(HIGHER, V2Q)]
    assert q.handle(HIGHER, V2Q, 21.0) == [QueryHeard(HIGHER, V2Q)]
    # our own schedule is untouched
    assert sends(q.tick(2.5)) == [SendQuery(ANY, MRT, "startup")]
    assert sends(q.tick(12.5)) == [SendQuery(ANY, MRT, "general")]
    # a new contest after it was silent for the timeout is counted again
    assert q.handle(HIGHER, V2Q, 21.0 + TIMEOUT) == [QueryHeard(HIGHER, V2Q), ElectionWon(HIGHER)]
    assert q.elections_won == 2


def test_own_looped_back_queries_never_cause_back_off():
    q = started()
    assert q.handle(ME, V2Q, 1.0) == []
    assert q.handle(ME, V3Q, 1.0) == []
    # the runtime flags frames that left this host; even from a lower source they do not count
    assert q.handle(LOWER, V2Q, 1.5, own=True) == []
    assert q.role == QUERIER and q.queries_heard == 0
    assert sends(q.tick(2.5)) == [SendQuery(ANY, MRT, "startup")]


def test_proxy_queries_from_0_0_0_0_never_cause_back_off():
    q = started()
    for t in (1.0, 2.0, 3.0):
        assert q.handle(ANY, V2Q, t) == [QueryHeard(ANY, V2Q)]
    assert q.handle(ANY, V3Q, 4.0) == [QueryHeard(ANY, V3Q)]
    assert q.role == QUERIER and q.elected(4.0) == ME
    assert q.queries_heard == 4 and q.elections_lost == 0


def test_proxy_queries_do_not_keep_a_non_querier_waiting():
    q = started()
    q.handle(LOWER, V2Q, 1.0)
    for t in range(2, 22):
        q.handle(ANY, V2Q, float(t))
    assert q.next_deadline() == 1.0 + TIMEOUT
    assert of(q.tick(1.0 + TIMEOUT), RoleChanged)[0].reason == "takeover"


def test_each_query_from_the_querier_restarts_the_timeout_and_takeover_is_exact():
    q = started()
    q.handle(LOWER, V2Q, 1.0)
    q.handle(LOWER, V2Q, 11.0)
    assert q.next_deadline() == 11.0 + TIMEOUT
    q.handle(LOWER, V2Q, 21.0)
    deadline = 21.0 + TIMEOUT
    assert q.next_deadline() == deadline
    # a higher address or a proxy does not restart it
    q.handle(HIGHER, V2Q, 30.0)
    q.handle(ANY, V2Q, 31.0)
    assert q.next_deadline() == deadline
    assert q.tick(deadline - 0.001) == []
    assert q.role == NON_QUERIER
    events = q.tick(deadline)
    assert events == [
        RoleChanged(QUERIER, ME, LOWER, "takeover", TIMEOUT),
        SendQuery(ANY, MRT, "takeover"),
    ]
    assert q.role == QUERIER and q.takeovers == 1 and q.elected(deadline) == ME
    # then the normal interval (no startup burst)
    assert q.next_deadline() == deadline + 10.0
    assert q.tick(deadline + 9.999) == []
    assert q.tick(deadline + 10.0) == [SendQuery(ANY, MRT, "general")]


def test_takeover_waits_for_every_lower_querier():
    q = started()
    q.handle(LOWEST, V2Q, 1.0)
    q.handle(LOWER, V2Q, 5.0)  # both lower than us; the later one decides
    assert q.elected(5.0) == LOWEST
    assert q.next_deadline() == 5.0 + TIMEOUT
    assert q.tick(1.0 + TIMEOUT) == []
    assert of(q.tick(5.0 + TIMEOUT), RoleChanged) == [RoleChanged(QUERIER, ME, LOWER, "takeover", TIMEOUT)]


def test_restart_while_a_lower_querier_is_alive_starts_as_non_querier():
    q = started()
    q.handle(LOWER, V2Q, 1.0)
    assert q.start(5.0) == []  # e.g. the link bounced
    assert q.role == NON_QUERIER
    assert q.next_deadline() == 1.0 + TIMEOUT


def test_addresses_are_compared_numerically_not_as_strings():
    # "10.0.0.10" < "10.0.0.9" as strings; numerically 9 < 10
    nine = started(address="10.0.0.9")
    assert of(nine.handle("10.0.0.10", V2Q, 1.0), ElectionWon) == [ElectionWon("10.0.0.10")]
    assert nine.role == QUERIER
    ten = started(address="10.0.0.10")
    assert of(ten.handle("10.0.0.9", V2Q, 1.0), RoleChanged) == [RoleChanged(NON_QUERIER, "10.0.0.9", "10.0.0.10", "lost")]
    hundred = started(address="192.168.1.100")
    hundred.handle("192.168.1.20", V2Q, 1.0)
    assert hundred.role == NON_QUERIER
    twenty = started(address="192.168.1.20")
    twenty.handle("192.168.1.100", V2Q, 1.0)
    assert twenty.role == QUERIER
    nine_net = started(address="9.255.255.255")
    nine_net.handle("10.0.0.1", V2Q, 1.0)
    assert nine_net.role == QUERIER


# --- three queriers on one LAN ----------------------------------------------------------------

class Lan:
    """Delivers every query a node asks to send to all other live nodes (and back to the sender
    as its own looped-back frame). Time advances from deadline to deadline; nodes that are due at
    the same instant tick in ``order``."""

    def __init__(self, timers, addresses, order=None):
        self.timers = timers
        self.nodes = {a: Querier(timers, a) for a in addresses}
        self.order = order or list(addresses)
        self.now = 0.0
        self.sent = []  # (time, source, reason)
        self.roles = []  # (time, address, RoleChanged)

    def start(self, address, now, fresh=False):
        if fresh:
            self.nodes[address] = Querier(self.timers, address)
        self.now = now
        self._process(address, self.nodes[address].start(now))

    def kill(self, address):
        del self.nodes[address]

    def _process(self, address, events):
        for event in events:
            if isinstance(event, RoleChanged):
                self.roles.append((self.now, address, event))
            if isinstance(event, SendQuery):
                node = self.nodes.get(address)
                if node is None:
                    continue
                node.record_sent(self.now)
                self.sent.append((self.now, address, event.reason))
                message = wire(codec.encode_query_v2(event.max_resp_tenths, event.group))
                assert node.handle(address, message, self.now, own=True) == []
                for other in [a for a in self.order if a in self.nodes and a != address]:
                    self._process(other, self.nodes[other].handle(address, message, self.now))

    def run(self, until):
        while True:
            due = [(q.next_deadline(), a) for a, q in self.nodes.items() if q.next_deadline() is not None]
            if not due:
                return
            when = min(d for d, _address in due)
            if when > until:
                self.now = until
                return
            self.now = when
            for address in self.order:
                node = self.nodes.get(address)
                if node is not None and node.next_deadline() is not None and node.next_deadline() <= when:
                    self._process(address, node.tick(when))

    def senders(self, start, end):
        return sorted({a for t, a, _reason in self.sent if start <= t < end})

    def queries(self, address, start, end):
        return [(t, r) for t, a, r in self.sent if a == address and start <= t < end]


A, B, C = "10.0.0.9", "10.0.0.10", "10.0.0.100"  # numerically A < B < C; as strings B < C < A


@pytest.mark.parametrize("order", [[A, B, C], [C, B, A]], ids=["lowest-ticks-first", "highest-ticks-first"])
def test_three_queriers_converge_fail_over_and_recover(order):
    lan = Lan(T, [A, B, C], order)
    for address in (C, B, A):  # started in the least convenient order
        lan.start(address, 0.0)
    lan.run(25.0)
    # converged: only the lowest address queries, the others back off and know who it is
    assert lan.nodes[A].role == QUERIER
    assert lan.nodes[B].role == lan.nodes[C].role == NON_QUERIER
    assert lan.nodes[B].elected(lan.now) == lan.nodes[C].elected(lan.now) == A
    lan.run(100.0)
    assert lan.senders(3.0, 100.0) == [A]
    assert [t for t, _reason in lan.queries(A, 0.0, 100.0)] == [0.0, 2.5, 12.5, 22.5, 32.5, 42.5, 52.5, 62.5, 72.5, 82.5, 92.5]
    # kill the lowest just after its query at 92.5: the next-lowest takes over at 92.5 + timeout
    lan.kill(A)
    takeover = 92.5 + TIMEOUT
    lan.run(takeover - 0.001)
    assert lan.senders(92.6, takeover) == []
    assert lan.nodes[B].role == NON_QUERIER
    lan.run(takeover)
    assert lan.nodes[B].role == QUERIER
    assert (takeover, "takeover") in lan.queries(B, takeover, takeover + 1)
    b_takeover = [e for t, a, e in lan.roles if a == B and e.reason == "takeover"]
    assert b_takeover == [RoleChanged(QUERIER, B, A, "takeover", TIMEOUT)]
    lan.run(190.0)
    # C may have taken over at the same instant; it lost to B at once. After that only B queries.
    assert lan.nodes[C].role == NON_QUERIER and lan.nodes[C].elected(lan.now) == B
    assert lan.senders(takeover + 0.001, 190.0) == [B]
    assert [t for t, _reason in lan.queries(B, takeover, 190.0)] == [takeover + 10.0 * k for k in range(8)]
    # the lowest comes back (a restarted daemon): B backs off at its first query
    lan.start(A, 200.0, fresh=True)
    assert lan.nodes[B].role == NON_QUERIER
    assert [e for t, a, e in lan.roles if a == B and t == 200.0] == [RoleChanged(NON_QUERIER, A, B, "lost")]
    lan.run(400.0)
    assert lan.senders(200.0, 400.0) == [A]
    assert lan.nodes[A].role == QUERIER
    assert lan.nodes[B].elected(lan.now) == lan.nodes[C].elected(lan.now) == A


# --- QRV/QQIC adoption --------------------------------------------------------------------------

def test_non_querier_adopts_qrv_and_qqic_of_an_igmpv3_querier():
    q = started(T._replace(igmp_version=3))
    events = q.handle(LOWER, v3q(3, 30), 1.0)
    assert of(events, Adopted) == [Adopted(LOWER, 3, 30.0, 3 * 30.0 + 0.5)]
    assert (q.robustness, q.query_interval, q.timeout) == (3, 30.0, 90.5)
    assert q.membership_interval == 91.0
    assert q.next_deadline() == 91.5
    # the same values again: no new event
    assert of(q.handle(LOWER, v3q(3, 30), 31.0), Adopted) == []
    # the takeover follows the querier that was really running: its timeout; then we query with
    # our own configured robustness and interval, not the adopted ones
    assert q.tick(31.0 + 90.5 - 0.001) == []
    assert sends(q.tick(121.5)) == [SendQuery(ANY, MRT, "takeover")]
    assert q.next_deadline() == 131.5
    assert (q.robustness, q.query_interval, q.timeout) == (2, 10.0, TIMEOUT)
    assert q.timers.robustness == 2  # the configuration itself is untouched


def test_adopted_values_follow_the_querier_when_it_changes_them():
    q = started(T._replace(igmp_version=3))
    q.handle(LOWER, v3q(3, 30), 1.0)
    assert of(q.handle(LOWER, v3q(4, 20), 2.0), Adopted) == [Adopted(LOWER, 4, 20.0, 80.5)]


def test_adoption_decodes_the_float_coded_qqic():
    q = started()
    # 2 x 288 + 0.5 = 576.5 s would outlast the switches' 260 s: capped at 260 - 1 - 1
    assert of(q.handle(LOWER, v3q(2, 300), 1.0), Adopted) == [Adopted(LOWER, 2, 288.0, 258.0)]


def test_robustness_above_7_is_sent_as_qrv_0_and_then_not_adopted():
    assert codec.qrv_field(8) == 0
    query = v3q(8, 30)
    assert query.qrv == 0
    q = started()
    assert of(q.handle(LOWER, query, 1.0), Adopted) == [Adopted(LOWER, 2, 30.0, 60.5)]  # QQI only
    assert q.robustness == 2


def test_qqic_0_keeps_our_interval():
    q = started()
    assert of(q.handle(LOWER, v3q(3, 0), 1.0), Adopted) == [Adopted(LOWER, 3, 10.0, 30.5)]


def test_explicit_timeout_is_kept_when_adopting_a_shorter_interval():
    q = started(T._replace(timeout=25.0))
    assert of(q.handle(LOWER, v3q(3, 20), 1.0), Adopted) == [Adopted(LOWER, 3, 20.0, 25.0)]
    assert q.next_deadline() == 26.0


def test_explicit_timeout_below_the_adopted_interval_gives_way_to_the_rfc_formula():
    # -q 10 -t 25 is valid here, but the querier really runs at QQI 30: a 25 s timeout would make
    # us take over between each two of its queries and flap. The timeout must exceed the query
    # interval (the rule the CLI applies to the configured values), so the RFC formula applies.
    q = started(T._replace(timeout=25.0))
    assert of(q.handle(LOWER, v3q(2, 30), 1.0), Adopted) == [Adopted(LOWER, 2, 30.0, 60.5)]
    for t in (31.0, 61.0, 91.0):
        assert of(q.handle(LOWER, v3q(2, 30), t), RoleChanged) == []
        assert q.tick(t + 29.999) == []
    assert q.role == NON_QUERIER and q.takeovers == 0


def test_no_adoption_from_higher_queriers_v2_queriers_or_a_lower_non_elected_querier():
    q = started()
    assert of(q.handle(HIGHER, v3q(5, 50), 1.0), Adopted) == []
    assert of(q.handle(LOWER, V2Q, 2.0), Adopted) == []
    assert (q.robustness, q.query_interval) == (2, 10.0)
    q.handle(LOWEST, V2Q, 3.0)
    assert q.elected(3.0) == LOWEST
    assert of(q.handle(LOWER, v3q(5, 50), 4.0), Adopted) == []  # LOWER is not the querier
    assert (q.robustness, q.query_interval) == (2, 10.0)


# --- mixed versions --------------------------------------------------------------------------

def test_version_mismatch_warning_is_rate_limited_per_source():
    q = started(T._replace(igmp_version=3))
    assert of(q.handle(LOWER, V2Q, 1.0), VersionMismatch) == [VersionMismatch(LOWER, 2, 3)]
    assert of(q.handle(LOWER, V2Q, 11.0), VersionMismatch) == []
    assert of(q.handle(LOWER, V2Q, 1.0 + MIXED_VERSION_LOG_INTERVAL - 0.001), VersionMismatch) == []
    assert of(q.handle(LOWER, V2Q, 1.0 + MIXED_VERSION_LOG_INTERVAL), VersionMismatch) == [VersionMismatch(LOWER, 2, 3)]
    # another source has its own limit; IGMPv1 is older too
    assert of(q.handle(LOWEST, V1Q, 12.0), VersionMismatch) == [VersionMismatch(LOWEST, 1, 3)]
    # an IGMPv3 querier is no mismatch
    assert of(q.handle(HIGHER, V3Q, 13.0), VersionMismatch) == []


def test_version_mismatch_for_an_igmpv2_querier_in_both_directions():
    """An IGMPv2 daemon next to an IGMPv3 querier (mcd's default) says so too."""
    q = started()
    assert of(q.handle(LOWER, V3Q, 1.0), VersionMismatch) == [VersionMismatch(LOWER, 3, 2)]
    assert of(q.handle(LOWEST, V2Q, 2.0), VersionMismatch) == []
    assert of(q.handle(HIGHER, V1Q, 3.0), VersionMismatch) == [VersionMismatch(HIGHER, 1, 2)]
    assert of(q.handle(ANY, V3Q, 4.0), VersionMismatch) == []  # a switch's proxy query: not ours to fix


# --- address changes --------------------------------------------------------------------------

def test_address_change_announces_itself_and_elects_against_the_new_address():
    q = started()
    assert of(q.handle(HIGHER, V2Q, 0.5), ElectionWon) == [ElectionWon(HIGHER)]
    assert q.set_address(ME, 1.0) == []  # unchanged
    events = q.set_address("10.0.0.8", 1.0)
    assert events == [AddressChanged(ME, "10.0.0.8"), SendQuery(ANY, MRT, "address")]
    assert q.address == "10.0.0.8" and q.elected(1.0) == "10.0.0.8"
    assert q.next_deadline() == 11.0
    # 10.0.0.7 outranked the old address; it is lower than the new one
    assert of(q.handle(HIGHER, V2Q, 2.0), RoleChanged) == [RoleChanged(NON_QUERIER, HIGHER, "10.0.0.8", "lost")]


def test_address_lost_and_regained():
    q = started()
    assert q.set_address(None, 1.0) == [AddressChanged(ME, None)]
    assert q.address is None
    events = q.set_address(ME, 2.0)
    assert events[0] == AddressChanged(None, ME)
    assert sends(events) == [SendQuery(ANY, MRT, "address")]


def test_non_querier_whose_new_address_is_lowest_takes_over():
    q = started()
    q.handle(LOWER, V2Q, 1.0)
    events = q.set_address(LOWEST, 5.0)
    assert events[0] == AddressChanged(ME, LOWEST)
    assert sends(events) == [SendQuery(ANY, MRT, "takeover")]
    assert q.role == QUERIER


def test_taking_the_address_of_the_old_querier_is_no_reason_to_back_off():
    q = started()
    q.handle(LOWER, V2Q, 1.0)
    q.set_address(LOWER, 5.0)
    assert q.role == QUERIER
    assert q.handle(LOWER, V2Q, 6.0) == []  # now that is our own address


def test_non_querier_address_change_that_stays_higher_keeps_waiting():
    q = started()
    q.handle(LOWER, V2Q, 1.0)
    assert q.set_address("10.0.0.6", 5.0) == [AddressChanged(ME, "10.0.0.6")]
    assert q.role == NON_QUERIER and q.next_deadline() == 1.0 + TIMEOUT


# --- the group table --------------------------------------------------------------------------

def test_reports_of_every_version_add_groups():
    q = started()
    assert q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0) == [GroupJoined(G1, HOST, 2)]
    assert q.groups.get(G1) == Membership(G1, HOST, 2, 1.0 + 21.0)
    assert q.handle(HOST2, wire(codec.encode_report_v1(G2)), 1.0) == [GroupJoined(G2, HOST2, 1)]
    report = codec.encode_report_v3([
        GroupRecord(codec.CHANGE_TO_EXCLUDE, G3),
        GroupRecord(codec.MODE_IS_INCLUDE, G4, ("10.1.1.1",)),
        GroupRecord(codec.ALLOW_NEW_SOURCES, "239.5.5.5"),  # no sources: no interest
        GroupRecord(codec.BLOCK_OLD_SOURCES, "239.6.6.6", ("10.1.1.1",)),
        GroupRecord(codec.CHANGE_TO_INCLUDE, "239.7.7.7"),  # leave of a group we never had
    ])
    assert q.handle(HOST, wire(report), 2.0) == [GroupJoined(G3, HOST, 3), GroupJoined(G4, HOST, 3),
                                                 SendQuery("239.7.7.7", 10, "group-specific")]
    assert [m.group for m in q.groups.memberships()] == [G1, G2, G3, G4]
    # a refresh from another host: no join event, new reporter and timer
    assert q.handle(HOST2, wire(codec.encode_report_v2(G1)), 5.0) == []
    assert q.groups.get(G1) == Membership(G1, HOST2, 2, 26.0)


def test_groups_expire_after_the_membership_interval():
    q = started()
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0)
    assert q.next_deadline() == 2.5  # the startup query comes first
    run(q, 21.999)
    assert G1 in q.groups
    assert of(q.tick(22.0), GroupExpired) == [GroupExpired(G1)]
    assert G1 not in q.groups


def test_non_querier_expires_groups_too():
    q = started()
    q.handle(LOWER, V2Q, 0.5)
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0)
    q.handle(LOWER, V2Q, 10.0)
    assert q.next_deadline() == 22.0
    assert q.tick(22.0) == [GroupExpired(G1)]


def test_leave_while_querier_sends_robustness_group_specific_queries_then_expires():
    q = started(T._replace(robustness=3))  # membership interval 31 s, 3 last-member queries
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0)
    run(q, 5.0)  # the startup burst: 0, 2.5, 5.0
    events = q.handle(HOST, wire(codec.encode_leave(G1)), 5.0)
    assert events == [SendQuery(G1, 10, "group-specific")]  # at once, max response = LMQI 1 s
    assert q.groups.get(G1).expires == 8.0  # LMQC x LMQI
    assert q.next_deadline() == 6.0
    assert q.tick(5.999) == []
    assert q.tick(6.0) == [SendQuery(G1, 10, "group-specific")]
    assert q.tick(7.0) == [SendQuery(G1, 10, "group-specific")]
    assert q.tick(7.999) == []
    assert q.tick(8.0) == [GroupExpired(G1)]
    assert G1 not in q.groups
    assert q.next_deadline() == 15.0  # only the general schedule is left


def test_a_report_cancels_the_group_specific_queries():
    q = started()
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0)
    run(q, 5.0)
    assert sends(q.handle(HOST, wire(codec.encode_leave(G1)), 5.0)) == [SendQuery(G1, 10, "group-specific")]
    assert q.handle(HOST2, wire(codec.encode_report_v2(G1)), 5.5) == []
    assert [e for _t, e in run(q, 12.0) if e.group != ANY] == []
    assert q.groups.get(G1) == Membership(G1, HOST2, 2, 5.5 + 21.0)


def test_a_second_leave_does_not_restart_the_queries():
    q = started()
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0)
    q.handle(HOST, wire(codec.encode_leave(G1)), 5.0)
    assert sends(q.handle(HOST2, wire(codec.encode_leave(G1)), 5.5)) == []
    gsq_then_expiry = [(6.0, SendQuery(G1, 10, "group-specific")), (7.0, GroupExpired(G1))]
    assert [(t, e) for t, e in run(q, 8.0) if e.group == G1] == gsq_then_expiry


@pytest.mark.parametrize("record_type", [codec.CHANGE_TO_INCLUDE, codec.MODE_IS_INCLUDE])
def test_v3_include_nothing_is_a_leave(record_type):
    q = started()
    q.handle(HOST, wire(codec.encode_report_v3([GroupRecord(codec.CHANGE_TO_EXCLUDE, G1)])), 1.0)
    leave = wire(codec.encode_report_v3([GroupRecord(record_type, G1)]))
    run(q, 5.0)
    assert q.handle(HOST, leave, 5.0) == [SendQuery(G1, 10, "group-specific")]
    assert q.groups.get(G1).expires == 7.0


def test_leave_for_a_group_the_table_does_not_hold_still_gets_its_group_specific_queries():
    # learnt before we started, or refused while the table was full: the switch still waits for them
    q = started()
    run(q, 5.0)
    assert q.handle(HOST, wire(codec.encode_leave(G1)), 5.0) == [SendQuery(G1, 10, "group-specific")]
    assert [(t, e) for t, e in run(q, 8.0) if e.group == G1] == [(6.0, SendQuery(G1, 10, "group-specific"))]
    assert G1 not in q.groups


def test_leave_while_non_querier_waits_for_the_queriers_group_specific_query():
    q = started()
    q.handle(LOWER, V2Q, 0.5)
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0)
    assert q.handle(HOST, wire(codec.encode_leave(G1)), 5.0) == []
    assert q.groups.get(G1).expires == 22.0
    gsq = wire(codec.encode_query_v2(10, G1))
    assert q.handle(LOWER, gsq, 5.1) == [QueryHeard(LOWER, gsq)]
    assert q.groups.get(G1).expires == pytest.approx(5.1 + 2 * 1.0)  # LMQC x its max response
    assert q.tick(7.1) == [GroupExpired(G1)]


def test_losing_the_election_cancels_our_group_specific_queries():
    q = started()
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0)
    q.handle(HOST, wire(codec.encode_leave(G1)), 5.0)
    q.handle(LOWER, V2Q, 5.5)
    assert sends(q.tick(6.0)) == []
    assert q.tick(7.0) == [GroupExpired(G1)]  # the querier's queries lower nothing here; our timer ran out
    # when we take over later, no stale group-specific query goes out with the takeover
    takeover = [RoleChanged(QUERIER, ME, LOWER, "takeover", TIMEOUT), SendQuery(ANY, MRT, "takeover")]
    assert [e for _t, e in run(q, 5.5 + TIMEOUT)] == takeover


def test_records_without_interest_do_not_cancel_the_group_specific_queries():
    # BLOCK_OLD_SOURCES and ALLOW_NEW_SOURCES {} refresh nothing (the table is not source-aware),
    # so they are no answer to a group-specific query: the queries go on and the group expires.
    q = started()
    q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0)
    run(q, 5.0)
    q.handle(HOST, wire(codec.encode_leave(G1)), 5.0)
    no_interest = wire(codec.encode_report_v3([
        GroupRecord(codec.BLOCK_OLD_SOURCES, G1, ("10.1.1.1",)),
        GroupRecord(codec.ALLOW_NEW_SOURCES, G1),
    ]))
    assert q.handle(HOST2, no_interest, 5.5) == []
    gsq_then_expiry = [(6.0, SendQuery(G1, 10, "group-specific")), (7.0, GroupExpired(G1))]
    assert [(t, e) for t, e in run(q, 8.0) if e.group == G1] == gsq_then_expiry


def test_the_group_table_is_capped():
    q = started()
    q.groups.max_groups = 2
    assert of(q.handle(HOST, wire(codec.encode_report_v2(G1)), 1.0), GroupJoined)
    assert of(q.handle(HOST, wire(codec.encode_report_v2(G2)), 1.0), GroupJoined)
    assert q.handle(HOST, wire(codec.encode_report_v2(G3)), 1.0) == [GroupTableFull(G3, 1)]  # a flood cannot grow it
    assert (len(q.groups), q.groups.dropped) == (2, 1)
    assert q.handle(HOST, wire(codec.encode_report_v2(G4)), 2.0) == []  # the warning is rate-limited
    assert q.groups.dropped == 2
    assert q.handle(HOST2, wire(codec.encode_report_v2(G1)), 2.0) == []  # known groups still refresh
    assert q.groups.get(G1).last_reporter == HOST2

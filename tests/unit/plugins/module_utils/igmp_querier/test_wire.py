"""The query the core asks for, as destination and bytes (codec.encode_query, Querier.datagram)."""

import pytest

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import Timers
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.election import (
    Querier, Reason, SendQuery,
)

G = "239.1.2.3"


@pytest.mark.parametrize("version, group, destination, expected", [
    (2, codec.ANY, codec.ALL_HOSTS, codec.Query(2, 100, codec.ANY)),
    (2, G, G, codec.Query(2, 100, G)),
    (3, codec.ANY, codec.ALL_HOSTS, codec.Query(3, 100, codec.ANY, qrv=3, qqi=125)),
    (3, G, G, codec.Query(3, 100, G, qrv=3, qqi=125)),
])
def test_general_queries_go_to_all_hosts_group_specific_ones_to_their_group(version, group, destination, expected):
    sent_to, data = codec.encode_query(version, 100, 3, 125.0, group)
    assert sent_to == destination
    assert codec.decode_igmp(data) == expected


def test_v3_qqic_carries_whole_seconds_and_v2_ignores_qrv_and_qqic():
    assert codec.encode_query(3, 100, 2, 12.5)[1] == codec.encode_query_v3(100, 2, 12)
    assert codec.encode_query(2, 100, 7, 300.0)[1] == codec.encode_query_v2(100)


def test_datagram_uses_the_adopted_robustness_and_interval():
    q = Querier(Timers(query_interval=10.0, max_response_time=1.0, robustness=2, igmp_version=3), "10.0.0.5")
    q.start(0.0)
    lower = codec.Query(3, 100, codec.ANY, qrv=4, qqi=20)
    q.handle("10.0.0.2", lower, 1.0)  # a lower v3 querier: we adopt its QRV 4 and QQI 20
    destination, data = q.datagram(SendQuery(codec.ANY, 10, Reason.TAKEOVER))
    assert destination == codec.ALL_HOSTS
    assert codec.decode_igmp(data) == codec.Query(3, 10, codec.ANY, qrv=4, qqi=20)

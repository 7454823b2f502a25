"""The group table in the state file comes from the reports and leaves on the wire.

- Groups the querier's own host never joined appear (an IPPROTO_IGMP socket would miss them: the
  IP stack drops IGMPv2 reports for groups the host has not joined before raw delivery).
- An IGMPv2 leave makes the querier send group-specific queries, then drop the group.
- Malformed IGMP injected onto the querier's link is counted in ``malformed_dropped``; the daemon
  carries on querying and learning.
"""

import struct
import time

import pytest

from tests.netns import lab as netlab

pytestmark = pytest.mark.root

codec = netlab.codec
QUERIER = "10.0.0.1"
LMQI = 1.0  # the daemon's Last Member Query Interval
ROBUSTNESS = 2


def _groups(state):
    return {g["group"]: g for g in state["groups"]}


def test_reports_for_groups_the_querier_never_joined(lab):
    querier = lab.add_host("q", QUERIER)
    m1 = lab.add_host("m1", "10.0.0.11")
    m2 = lab.add_host("m2", "10.0.0.12")
    m1.sysctl("net.ipv4.conf.eth0.force_igmp_version", 2)
    daemon = querier.daemon(*netlab.FAST)
    m1.join("239.1.1.1")
    m2.join("239.2.2.2")
    m2.join("239.3.3.3")
    state = daemon.wait_state(lambda s: {"239.1.1.1", "239.2.2.2", "239.3.3.3"} <= set(_groups(s)), 6,
                              "the members' groups in the state file")
    groups = _groups(state)
    assert groups["239.1.1.1"]["last_reporter"] == "10.0.0.11"
    assert groups["239.1.1.1"]["version"] == 2
    assert groups["239.2.2.2"]["last_reporter"] == groups["239.3.3.3"]["last_reporter"] == "10.0.0.12"
    for entry in groups.values():
        assert entry["expires"] > state["updated"]
    # The querier's host is a member of none of them.
    joined = querier.ip("maddr", "show", "dev", "eth0").stdout
    for group in ("239.1.1.1", "239.2.2.2", "239.3.3.3"):
        assert group not in joined


def test_leave_triggers_group_specific_queries_then_removal(lab):
    querier = lab.add_host("q", QUERIER)
    member = lab.add_host("m", "10.0.0.11")
    other = lab.add_host("o", "10.0.0.12")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    member.sysctl("net.ipv4.conf.eth0.force_igmp_version", 2)  # IGMPv2: leaving sends a Leave
    daemon = querier.daemon(*netlab.FAST)
    leaving = member.join("239.5.5.5")
    other.join("239.6.6.6")
    daemon.wait_state(lambda s: {"239.5.5.5", "239.6.6.6"} <= set(_groups(s)), 6, "both groups known")
    time.sleep(1.2)  # let the member answer a general query, so it is the group's last reporter

    left = time.time()
    leaving.leave()
    first = capture.wait_query(src=QUERIER, since=left, timeout=3, general=False)
    assert first.message.group == "239.5.5.5" and first.dst == "239.5.5.5"
    assert first.message.max_resp_tenths == int(LMQI * 10)
    state = daemon.wait_state(lambda s: "239.5.5.5" not in _groups(s), ROBUSTNESS * LMQI + 2.5,
                              "the group removed after its group-specific queries")
    removed = time.time()
    assert removed - left >= ROBUSTNESS * LMQI - 0.5, "removed %.2f s after the leave" % (removed - left)
    specific = capture.queries(src=QUERIER, since=left, general=False)
    assert [f.message.group for f in specific] == ["239.5.5.5"] * ROBUSTNESS
    spacing = specific[1].time - specific[0].time
    assert abs(spacing - LMQI) < 0.3, "group-specific queries %.2f s apart" % spacing
    assert "239.6.6.6" in _groups(state), "the other group must stay"
    time.sleep(1.5)
    assert "239.6.6.6" in _groups(daemon.state())


def _report(group):
    return codec.encode_report_v2(group)


def _malformed_frames():
    """(what, IPv4 datagram) pairs the codec must drop, from a made-up neighbour 10.0.0.66."""
    src, dst = "10.0.0.66", "224.0.0.22"
    bad_sum = bytearray(_report("239.9.9.9"))
    bad_sum[2] ^= 0xFF
    bad_ip_sum = bytearray(codec.encode_ipv4(src, "239.9.9.9", _report("239.9.9.9")))
    bad_ip_sum[10] ^= 0xFF
    v3_overrun = bytearray(codec.encode_report_v3([codec.GroupRecord(codec.MODE_IS_EXCLUDE, "239.9.9.9")]))
    struct.pack_into("!H", v3_overrun, 6, 5)  # claims 5 records, carries 1
    struct.pack_into("!H", v3_overrun, 2, 0)
    struct.pack_into("!H", v3_overrun, 2, codec.checksum(bytes(v3_overrun)))
    too_long = bytearray(codec.encode_ipv4(src, dst, _report("239.9.9.9")))
    struct.pack_into("!H", too_long, 2, len(too_long) + 40)  # total length beyond the frame
    struct.pack_into("!H", too_long, 10, 0)
    struct.pack_into("!H", too_long, 10, codec.checksum(bytes(too_long[:24])))
    query_10 = bytearray(b"\x11\x0a\x00\x00" + bytes(4) + b"\x00\x00")  # 10 octets: no IGMP version
    struct.pack_into("!H", query_10, 2, codec.checksum(bytes(query_10)))
    return [
        ("bad IGMP checksum", "239.9.9.9", codec.encode_ipv4(src, "239.9.9.9", bytes(bad_sum))),
        ("bad IPv4 header checksum", "239.9.9.9", bytes(bad_ip_sum)),
        ("truncated IGMP", dst, codec.encode_ipv4(src, dst, b"\x16\x00\xff\xff\x00\x00")),
        ("v3 report record count overrun", dst, codec.encode_ipv4(src, dst, bytes(v3_overrun))),
        ("IPv4 total length past the frame", dst, bytes(too_long)),
        ("10-octet query", "224.0.0.1", codec.encode_ipv4(src, "224.0.0.1", bytes(query_10))),
        ("report for a unicast group", "224.0.0.2", codec.encode_ipv4(src, "224.0.0.2", _report("10.1.2.3"))),
    ]


def test_malformed_igmp_is_counted_and_the_daemon_carries_on(lab):
    querier = lab.add_host("q", QUERIER)
    capture = lab.add_host("obs", "10.0.0.200").capture()
    daemon = querier.daemon(*netlab.FAST)
    daemon.wait_state(lambda s: s["role"] == "querier" and s["queries_sent"] >= 2, 5, "querying")
    assert daemon.state()["malformed_dropped"] == 0

    frames = _malformed_frames()
    for decoded in (codec.decode_ipv4(frame[2]) for frame in frames):
        assert isinstance(decoded, codec.Malformed)  # the oracle for what we inject
    rounds = 3
    for _round in range(rounds):
        for _what, dst, datagram in frames:
            querier.inject_on_port(datagram, dst)  # straight onto the querier's link
    expected = rounds * len(frames)
    state = daemon.wait_state(lambda s: s["malformed_dropped"] >= expected, 4, "%d malformed counted" % expected)
    assert state["malformed_dropped"] == expected
    assert "239.9.9.9" not in _groups(state) and "10.1.2.3" not in _groups(state)

    # Still alive and working: it queries on schedule and learns from a valid report.
    assert daemon.alive()
    since = time.time()
    querier.inject_on_port(codec.encode_ipv4("10.0.0.77", "239.7.7.7", _report("239.7.7.7")), "239.7.7.7")
    state = daemon.wait_state(lambda s: "239.7.7.7" in _groups(s), 3, "a valid report after the garbage")
    assert _groups(state)["239.7.7.7"]["last_reporter"] == "10.0.0.77"
    capture.wait_query(src=QUERIER, since=since, timeout=2)
    assert state["malformed_dropped"] == expected


def test_igmpv3_reports_and_leave(lab):
    querier = lab.add_host("q", QUERIER)
    member = lab.add_host("m", "10.0.0.11")
    capture = lab.add_host("obs", "10.0.0.200").capture()
    member.quick_reports()
    daemon = querier.daemon("--igmp-version", "3", *netlab.FAST)
    membership = member.join("239.5.5.5")
    state = daemon.wait_state(lambda s: "239.5.5.5" in _groups(s), 6, "the v3 member's group")
    assert _groups(state)["239.5.5.5"]["version"] == 3
    assert _groups(state)["239.5.5.5"]["last_reporter"] == "10.0.0.11"
    time.sleep(1.2)

    left = time.time()
    membership.leave()  # the kernel reports TO_IN({}) for the group
    first = capture.wait_query(src=QUERIER, since=left, timeout=3, general=False)
    assert first.message.version == 3 and first.message.group == "239.5.5.5" and first.dst == "239.5.5.5"
    daemon.wait_state(lambda s: "239.5.5.5" not in _groups(s), ROBUSTNESS * LMQI + 2.5, "the group removed")
    specific = capture.queries(src=QUERIER, since=left, general=False)
    assert [f.message.group for f in specific] == ["239.5.5.5"] * ROBUSTNESS

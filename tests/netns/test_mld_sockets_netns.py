"""The MLD sockets on a real snooping bridge: what open_sender6 puts on the wire, what
open_receiver6 lets through, and the link-local address netif reads from the kernel.

- A query sent with open_sender6 reaches a peer across veth and the bridge with Hop Limit 1,
  the Hop-by-Hop Router Alert (value 0, MLD), traffic class 0xc0, the sender's link-local
  source, to ff02::1 (or its address), and a valid ICMPv6 checksum the kernel filled in: scapy
  decodes the frame, independently of our codec.
- The receiver gets MLDv1 reports for groups its host never joined (a member's kernel's own,
  and one sent with open_sender6), and nothing but MLD: ICMPv6 echo and UDP (also behind a
  Hop-by-Hop header) that reach the same interface are filtered out in the kernel; an MLD report
  without Hop-by-Hop header is let through and decodes with ``router_alert`` False, one behind a
  16-octet Hop-by-Hop header is found too.
- netif.ipv6_link_local: the lowest usable link-local address; while DAD runs or after it
  failed, none and "pending"; the sender cannot bind a tentative address.
"""

import errno
import select
import socket
import struct
import time

import pytest

from tests.netns import lab as netlab
from tests.netns import lab6

from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import codec_mld, netif, sockets

inet6 = pytest.importorskip("scapy.layers.inet6", reason="scapy decodes the frames, independently of our codec")

pytestmark = pytest.mark.root

QUERIER_LL = "fe80::9"
PEER_LL = "fe80::10"
MLD_TYPES = (130, 131, 132, 143)


def ifindex(host):
    with netlab.netns(host.ns):
        return socket.if_nametoindex(host.ifname)


def receiver(host):
    with netlab.netns(host.ns):
        sock = sockets.open_receiver6(host.ifname, socket.if_nametoindex(host.ifname))
    host.lab.sockets.append(sock)
    return sock


def sender(host, source):
    with netlab.netns(host.ns):
        sock = sockets.open_sender6(host.ifname, socket.if_nametoindex(host.ifname), source)
    host.lab.sockets.append(sock)
    return sock


def collect(sock, until, timeout=5.0):
    """Frames (IPv6 packets) read from ``sock`` until ``until(frames)`` holds; LabError on timeout."""
    frames = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([sock], [], [], 0.05)[0]:
            while True:
                got = sockets.receive(sock)
                if got is None:
                    break
                frames.append(got)
        if until(frames):
            return frames
    raise netlab.LabError("not seen within %.1f s; got %s" % (timeout, [
        codec_mld.decode_ipv6(data) for data, _out in frames]))


def decoded(frames):
    return [codec_mld.decode_ipv6(data) for data, _out in frames]


def from_source(frames, src, kind):
    return [(data, p) for (data, _out), p in zip(frames, decoded(frames))
            if isinstance(p, codec_mld.Packet) and p.src == src and isinstance(p.message, kind)]


def setup_pair(lab):
    querier = lab.add_host("q", "10.0.0.1")
    peer = lab.add_host("p", "10.0.0.2")
    lab6.enable_ipv6(querier, QUERIER_LL)
    lab6.enable_ipv6(peer, PEER_LL)
    return querier, peer


def test_a_query_reaches_the_peer_as_rfc3810_asks(lab):
    querier, peer = setup_pair(lab)
    listen = receiver(peer)
    send = sender(querier, QUERIER_LL)
    index = ifindex(querier)
    group = "ff05::1:3"
    sent = [
        codec_mld.query_datagram(2, 100, 2, 125),
        codec_mld.query_datagram(2, 10, 3, 60, group),
        codec_mld.query_datagram(1, 100, 2, 125),
    ]
    for destination, payload in sent:
        assert payload[2:4] == b"\x00\x00"  # left to the kernel
        send.sendto(payload, (destination, 0, 0, index))
    frames = collect(listen, lambda fs: len(from_source(fs, QUERIER_LL, codec_mld.Query)) >= 3)
    queries = from_source(frames, QUERIER_LL, codec_mld.Query)
    expected = [
        (codec_mld.ALL_NODES, codec_mld.Query(2, 100, "::", False, 2, 125)),
        (group, codec_mld.Query(2, 10, group, False, 3, 60)),
        (codec_mld.ALL_NODES, codec_mld.Query(1, 100, "::")),
    ]
    assert [(p.dst, p.message) for _data, p in queries] == expected
    for (data, packet), (_dst, payload) in zip(queries, sent):
        pkt = inet6.IPv6(data)
        assert (pkt.version, pkt.hlim, pkt.tc, pkt.nh) == (6, 1, 0xC0, 0)
        assert (pkt.src, pkt.dst) == (QUERIER_LL, packet.dst)
        hbh = pkt[inet6.IPv6ExtHdrHopByHop]
        assert hbh.nh == 58
        alerts = [o for o in hbh.options if isinstance(o, inet6.RouterAlert)]
        assert [(o.optlen, o.value) for o in alerts] == [(2, 0)]
        icmp = bytes(hbh.payload)
        assert icmp[:2] + icmp[4:] == payload[:2] + payload[4:]  # our message, as we wrote it
        assert struct.unpack("!H", icmp[2:4])[0] == inet6.in6_chksum(58, pkt, icmp[:2] + b"\x00\x00" + icmp[4:])
        layer = hbh.payload
        if packet.message.version == 2:
            assert isinstance(layer, inet6.ICMPv6MLQuery2)
            assert (layer.QRV, layer.QQIC, layer.S, layer.sources_number) == (packet.message.qrv, packet.message.qqi, 0, 0)
        else:
            assert not isinstance(layer, inet6.ICMPv6MLQuery2) and len(icmp) == 24
        assert layer.mrd == packet.message.max_resp_tenths * 100
        assert layer.mladdr == packet.message.group
        assert packet.ttl == 1 and packet.router_alert and packet.options_ok
        assert codec_mld.query_defect_mld(packet) is None  # a query the peer's hosts answer


def _joined_groups(host):
    """The IPv6 groups the host's kernel has joined on its interface (/proc/net/igmp6)."""
    text = host.exec("cat", "/proc/net/igmp6").stdout
    return {socket.inet_ntop(socket.AF_INET6, bytes.fromhex(line.split()[2]))
            for line in text.splitlines() if len(line.split()) > 2 and line.split()[1] == host.ifname}


def test_the_receiver_gets_reports_for_groups_its_host_never_joined(lab):
    querier = lab.add_host("q", "10.0.0.1")
    member = lab.add_host("m", "10.0.0.2")
    other = lab.add_host("s", "10.0.0.3")
    lab6.enable_ipv6(querier, QUERIER_LL)
    lab6.enable_ipv6(member, "fe80::20")
    lab6.enable_ipv6(other, "fe80::30")
    member.sysctl("net.ipv6.conf.eth0.force_mld_version", 1)
    listen = receiver(querier)
    # the member's kernel reports its join (MLDv1, to the group)
    with netlab.netns(member.ns):
        joined = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    lab.sockets.append(joined)
    mreq = socket.inet_pton(socket.AF_INET6, "ff05::1234") + struct.pack("@I", ifindex(member))
    joined.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    # and a report written by us, sent with our sender (the kernel fills in the checksum)
    sender(other, "fe80::30").sendto(codec_mld.encode_report_mld1("ff0e::77"), ("ff0e::77", 0, 0, ifindex(other)))

    frames = collect(listen, lambda fs: from_source(fs, "fe80::20", codec_mld.Report)
                     and from_source(fs, "fe80::30", codec_mld.Report))
    assert [p.message for _d, p in from_source(frames, "fe80::20", codec_mld.Report)][0] == codec_mld.Report(1, "ff05::1234")
    ours = from_source(frames, "fe80::30", codec_mld.Report)[0][1]
    assert ours == codec_mld.Packet("fe80::30", "ff0e::77", 1, True, codec_mld.Report(1, "ff0e::77"))
    assert not {"ff05::1234", "ff0e::77"} & _joined_groups(querier)
    assert "ff02::1" in _joined_groups(querier)  # (the file is read right: every IPv6 host has joined ff02::1)
    assert all(not outgoing for _data, outgoing in frames)


def test_the_receiver_passes_mld_only(lab):
    querier, peer = setup_pair(lab)
    listen = receiver(peer)
    # an unfiltered packet socket beside it proves that the other traffic did arrive
    with netlab.netns(peer.ns):
        everything = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(lab6.ETH_P_IPV6))
        everything.bind((peer.ifname, lab6.ETH_P_IPV6))
        everything.setblocking(False)
    lab.sockets.append(everything)
    index = ifindex(querier)
    send = sender(querier, QUERIER_LL)
    send.sendto(b"\x80\x00\x00\x00\x12\x34\x00\x01ping", (codec_mld.ALL_NODES, 0, 0, index))  # echo request
    with netlab.netns(querier.ns):
        udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    lab.sockets.append(udp)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    udp.sendto(b"not MLD", (codec_mld.ALL_NODES, 9, 0, index))
    # an MLDv1 report without Hop-by-Hop header, as a careless host might send it
    bare = codec_mld.encode_ipv6(QUERIER_LL, "ff05::42", codec_mld.encode_report_mld1("ff05::42"), router_alert=False)
    lab6.send_ipv6(querier, bare)
    # a 16-octet Hop-by-Hop header: the filter finds ICMPv6 after it too
    long_hbh = bytes(inet6.IPv6(src=QUERIER_LL, dst="ff05::43", hlim=1) / inet6.IPv6ExtHdrHopByHop(
        options=[inet6.RouterAlert(value=0), inet6.PadN(optdata=b"\x00" * 8)]) / inet6.ICMPv6MLReport(mladdr="ff05::43"))
    assert long_hbh[41] == 1
    lab6.send_ipv6(querier, long_hbh)
    udp_after_hbh = bytes(inet6.IPv6(src=QUERIER_LL, dst="ff05::43", hlim=1) / inet6.IPv6ExtHdrHopByHop(
        options=[inet6.RouterAlert(value=0)]) / inet6.UDP(sport=9, dport=9) / b"not MLD")
    lab6.send_ipv6(querier, udp_after_hbh)
    marker = codec_mld.query_datagram(2, 100, 2, 125)
    send.sendto(marker[1], (marker[0], 0, 0, index))

    frames = collect(listen, lambda fs: from_source(fs, QUERIER_LL, codec_mld.Query))

    def echo_and_udp(fs):
        return (any(isinstance(p, codec_mld.Packet) and p.message == codec_mld.Unknown(128) for p in decoded(fs))
                and any(d[6] == 17 for d, _o in fs) and any(d[6] == 0 and d[40] == 17 for d, _o in fs))

    collect(everything, echo_and_udp, timeout=2.0)  # the echo request and the UDP datagrams did arrive
    for data, _out in frames:
        offset = 40 + (data[41] + 1) * 8 if data[6] == 0 else 40
        assert data[6] in (0, 58) and data[offset] in MLD_TYPES, data.hex()
        assert data[6] == 58 or data[40] == 58, data.hex()  # no UDP behind a Hop-by-Hop header
    packets = decoded(frames)
    assert all(isinstance(p, codec_mld.Packet) for p in packets), packets
    bare_seen = [p for p in packets if p.message == codec_mld.Report(1, "ff05::42")]
    assert bare_seen and not bare_seen[0].router_alert and bare_seen[0].options_ok
    long_seen = [p for p in packets if p.message == codec_mld.Report(1, "ff05::43")]
    assert long_seen and long_seen[0].router_alert and long_seen[0].options_ok


def _link_local(host):
    with netlab.netns(host.ns):  # /proc/net is this (main) thread's namespace while inside
        return netif.ipv6_link_local(host.ifname)


def test_the_link_local_address_netif_reads(lab):
    first = lab.add_host("a", "10.0.0.1")
    lab6.enable_ipv6(first, "fe80::100")
    lab6.add_link_local(first, "fe80::10")
    lab6.add_link_local(first, "fe80::9")
    assert _link_local(first) == ("fe80::9", False)  # the numerically lowest, not fe80::10

    late = lab.add_host("b", "10.0.0.2")
    lab6.enable_ipv6(late, "fe80::44", dad=True)
    assert _link_local(late) == (None, True)  # tentative while DAD runs
    with pytest.raises(OSError) as refused:
        sender(late, "fe80::44")
    assert refused.value.errno == errno.EADDRNOTAVAIL  # and not yet a source the sender can bind
    netlab.wait_until(lambda: _link_local(late) == ("fe80::44", False), 5.0, "fe80::44 usable after DAD")
    sender(late, "fe80::44")

    twin = lab.add_host("c", "10.0.0.3")
    lab6.enable_ipv6(twin, "fe80::100", dad=True)  # a's address: DAD fails
    assert _link_local(twin) == (None, True)
    # DAD starts after a random delay of up to a second, then waits a second for an answer
    netlab.wait_until(lambda: "dadfailed" in twin.ip("-6", "addr", "show", "dev", "eth0").stdout, 5.0,
                      "DAD of the duplicate fe80::100 failed")
    assert _link_local(twin) == (None, True)

    off = lab.add_host("d", "10.0.0.4")  # IPv6 off, as lab.py leaves it
    assert _link_local(off) == (None, False)

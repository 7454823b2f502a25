#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE). The MIT License is compatible with the
# GNU General Public License version 3, under which Ansible is distributed.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: igmp_probe
short_description: Send or receive test multicast to prove that a group is delivered
version_added: "0.1.0"
description:
  - With O(mode=send), sends O(count) UDP datagrams to a multicast O(group) and O(port), one every
    O(interval) seconds. Each carries a probe id, a sequence number and the send time.
  - With O(mode=receive), joins O(group) on O(interface) and listens for O(duration) seconds or
    until O(count) probes arrived, then reports how many were received, lost, duplicated and
    reordered, who sent them, and when the first and last arrived.
  - Run receivers with C(async) and C(poll=0), then the sender, then collect the receivers with
    M(ansible.builtin.async_status); the C(probe.yml) playbook of this collection does that.
  - Probing for longer than the switches' membership interval (about 260 seconds) shows whether
    a querier keeps the memberships alive.
  - The group may be IPv4 (the memberships IGMP keeps) or IPv6 (those MLD keeps); the probes, the
    options and the loss figures are the same for both.
author:
  - multicast.igmp developers (!UNKNOWN)
attributes:
  check_mode:
    support: partial
    description: Can run in check_mode and return the status of what would have been done.
    details:
      - With O(mode=send), check mode sends nothing and says so in RV(msg).
      - With O(mode=receive), check mode listens as usual (receiving changes nothing).
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Target OS/families that can be operated against.
    details:
      - "Linux hosts only: the default route's interface and the IPv6 addresses are read from C(/proc/net)."
options:
  mode:
    description:
      - V(send) sends probes, V(receive) joins the group and counts the probes that arrive.
    type: str
    required: true
    choices: [send, receive]
  group:
    description:
      - The multicast group, IPv4 (224.0.0.0/4) or IPv6 (ff00::/8).
      - Use a group outside 224.0.0.0/24, such as V(239.1.2.3); switches flood the link-local
        range 224.0.0.0/24 to every port, so probes there cannot show snooping problems.
      - "An IPv6 group of link scope (V(ff02::/16), such as V(ff02::4242)) needs O(interface) (or
        O(source)) with O(mode=send), the link it is sent on. MLD snooping switches snoop
        link-scope groups too, except the all-nodes group V(ff02::1), which they flood.
        Interface-local groups (V(ff01::/16)) never leave the host and are refused."
    type: str
    required: true
  port:
    description: The UDP destination port (1..65535).
    type: int
    default: 59559
  count:
    description:
      - With O(mode=send), the number of probes to send (1..100000); when not given, V(10).
      - With O(mode=receive), the number of probes expected (1..100000); the receiver stops when
        that many arrived and reports the rest as lost. When not given, the receiver listens
        for the whole O(duration) and expects the count that the senders announce in their
        probes, so a receiver that hears nothing cannot tell a loss.
    type: int
  interval:
    description:
      - Seconds between probes, 0..60, with O(mode=send) only; when not given, V(0.1).
      - O(count) x O(interval) is at most 86400 seconds.
    type: float
  duration:
    description:
      - Seconds to listen, more than 0 and at most 86400, with O(mode=receive) only; when not
        given, V(10).
      - With C(async), set the task's C(async) above it.
    type: float
  ttl:
    description:
      - The multicast TTL (for an IPv6 group, the Hop Limit) of the probes, 1..255, with
        O(mode=send) only; when not given, V(1) (this LAN only).
    type: int
  interface:
    description:
      - With O(mode=send), the interface to send on (default, the routing table's choice).
      - With O(mode=receive), the interface to join the group on (default, like O(mode=send) and
        the C(querier) role, the interface of the default IPv4 route).
      - It must exist. Mutually exclusive with O(source).
    type: str
  source:
    description:
      - An IPv4 address of this host, instead of O(interface); for an IPv6 group, a global IPv6
        address of this host (a link-local one stands for its interface, so set O(interface) instead).
      - With O(mode=send), the probes leave from this address and its interface.
      - With O(mode=receive), the group is joined on the interface that has this address.
    type: str
  payload_size:
    description:
      - UDP payload octets of each probe, 56 (the probe header) to 8972 (8952 for an IPv6 group),
        with O(mode=send) only; when not given, V(64).
      - Sizes above the link MTU minus 28 (48 for IPv6) are fragmented.
    type: int
  probe_id:
    description:
      - With O(mode=send), the id the probes carry (1..32 letters, digits, C(.), C(_), C(:) or C(-));
        when not given, a random one, returned in RV(probe_id).
      - With O(mode=receive), count only probes of this id (others are counted in
        RV(other_probes)).
    type: str
notes:
  - With O(mode=receive) and neither O(interface) nor O(source), the group is joined on the
    interface of the default IPv4 route; without a default route the module fails and asks for one.
  - A host that receives its own probes (multicast loopback) counts them too.
  - RV(delay) compares the sender's clock with the receiver's; it is meaningful only when their
    clocks are synchronised.
seealso:
  - module: multicast.igmp.igmp_status
"""

EXAMPLES = r"""
- name: Listen for 300 probes of 239.1.2.3 on eth0 in the background
  multicast.igmp.igmp_probe:
    mode: receive
    group: 239.1.2.3
    port: 59559
    interface: eth0
    count: 300
    duration: 330
  async: 400
  poll: 0
  register: receiver

- name: Send 300 probes, one per second (longer than a switch's membership interval)
  multicast.igmp.igmp_probe:
    mode: send
    group: 239.1.2.3
    port: 59559
    interface: eth0
    count: 300
    interval: 1
    probe_id: run-42
  delegate_to: sender.example.org
  run_once: true

- name: Collect the receiver's counts
  ansible.builtin.async_status:
    jid: "{{ receiver.ansible_job_id }}"
  register: received
  until: received.finished
  retries: 100
  delay: 5

- name: Show the loss
  ansible.builtin.debug:
    msg: "{{ received.received }}/{{ received.expected }} probes, {{ received.loss_percent }} % lost"

- name: Probe an IPv6 group of link scope (its memberships are the MLD querier's)
  multicast.igmp.igmp_probe:
    mode: send
    group: ff02::4242
    interface: eth0
    count: 100
"""

RETURN = r"""
msg:
  description: One line for humans.
  returned: always
  type: str
  sample: "received 300/300 probes of 239.1.2.3:59559 on eth0 (0.0% lost) from 10.0.0.9"
mode:
  description: The O(mode).
  returned: always
  type: str
  sample: receive
group:
  description: The multicast group.
  returned: always
  type: str
  sample: 239.1.2.3
port:
  description: The UDP port.
  returned: always
  type: int
  sample: 59559
interface:
  description: The interface used, or V(null) when the routing table chose it.
  returned: always
  type: str
  sample: eth0
source:
  description: The O(source), or V(null).
  returned: always
  type: str
  sample: null
probe_id:
  description:
    - With O(mode=send), the id the probes carried.
    - With O(mode=receive), the O(probe_id) filter, or V(null).
  returned: always
  type: str
  sample: 3f9a1c0b7d2e
sent:
  description: Probes sent (V(0) in check mode).
  returned: O(mode=send)
  type: int
  sample: 300
errors:
  description: Probes the kernel refused to send (for example no buffer space).
  returned: O(mode=send)
  type: int
  sample: 0
last_error:
  description: The last send error, or V(null).
  returned: O(mode=send)
  type: str
  sample: null
count:
  description: The O(count) in force.
  returned: always
  type: int
  sample: 300
interval:
  description: Seconds between probes.
  returned: O(mode=send)
  type: float
  sample: 1.0
ttl:
  description: The multicast TTL (IPv6 Hop Limit) of the probes.
  returned: O(mode=send)
  type: int
  sample: 1
payload_size:
  description: UDP payload octets of each probe.
  returned: O(mode=send)
  type: int
  sample: 64
start_time:
  description:
    - When sending or listening began (seconds since the epoch).
    - Not named C(started), which C(async) uses for its own bookkeeping.
  returned: always
  type: float
  sample: 1767225600.0
elapsed:
  description: Seconds spent sending or listening.
  returned: always
  type: float
  sample: 299.9
duration:
  description: The O(duration) the receiver listened for at most.
  returned: O(mode=receive)
  type: float
  sample: 330.0
stopped:
  description: Why the receiver stopped, V(count) (all expected probes arrived) or V(duration).
  returned: O(mode=receive)
  type: str
  sample: count
received:
  description: Distinct probes received (a probe is a probe id and a sequence number).
  returned: O(mode=receive)
  type: int
  sample: 300
expected:
  description: O(count), or when not given the number of probes the senders announced.
  returned: O(mode=receive)
  type: int
  sample: 300
lost:
  description: RV(expected) minus RV(received).
  returned: O(mode=receive)
  type: int
  sample: 0
loss_percent:
  description: RV(lost) in percent of RV(expected); V(null) when nothing was expected.
  returned: O(mode=receive)
  type: float
  sample: 0.0
duplicated:
  description: Extra copies of probes already received.
  returned: O(mode=receive)
  type: int
  sample: 0
reordered:
  description: Probes that arrived after a probe with a higher sequence number of the same id.
  returned: O(mode=receive)
  type: int
  sample: 0
foreign:
  description: Datagrams to the group and port that were not probes.
  returned: O(mode=receive)
  type: int
  sample: 0
other_probes:
  description: Probes of other ids than the O(probe_id) filter, and of ids beyond the first 64 received.
  returned: O(mode=receive)
  type: int
  sample: 0
sources:
  description: Source addresses the probes came from (the first 64), IPv4 then IPv6, each lowest first.
  returned: O(mode=receive)
  type: list
  elements: str
  sample: [10.0.0.9]
probe_ids:
  description: Ids of the probes received.
  returned: O(mode=receive)
  type: list
  elements: str
  sample: [run-42]
first_arrival:
  description: When the first probe arrived (seconds since the epoch), or V(null).
  returned: O(mode=receive)
  type: float
  sample: 1767225600.2
last_arrival:
  description: When the last probe arrived (seconds since the epoch), or V(null).
  returned: O(mode=receive)
  type: float
  sample: 1767225899.2
delay:
  description: One-way delay of the probes received (receiver's clock minus the sender's), or V(null).
  returned: O(mode=receive)
  type: dict
  contains:
    min:
      description: Smallest delay, seconds.
      type: float
      sample: 0.0003
    mean:
      description: Mean delay, seconds.
      type: float
      sample: 0.0004
    max:
      description: Largest delay, seconds.
      type: float
      sample: 0.002
"""

import ipaddress
import os
import socket
import struct
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.multicast.igmp.plugins.module_utils import probe
from ansible_collections.multicast.igmp.plugins.module_utils._common import text_option_errors
from ansible_collections.multicast.igmp.plugins.module_utils.observe import receive_until
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import netif

MAX_COUNT = probe.MAX_TOTAL
MAX_INTERVAL = 60.0
MAX_DURATION = 86400.0
DEFAULT_COUNT = 10
DEFAULT_INTERVAL = 0.1
DEFAULT_DURATION = 10.0
DEFAULT_TTL = 1
IP_MULTICAST_ALL = 49
IPV6_MULTICAST_ALL = 29
SEND_ONLY = ("interval", "ttl", "payload_size")
RECEIVE_ONLY = ("duration",)
TEXT_OPTIONS = ("mode", "group", "interface", "source", "probe_id")


GROUP_RULE = "group must be a multicast address, IPv4 (224.0.0.0/4) or IPv6 (ff00::/8)"
#: IPv6 multicast scopes (RFC 4291 s.2.7): interface-local never leaves the host; a
#: link-local group is scoped to one link, so the kernel needs its interface.
SCOPE_INTERFACE_LOCAL = 1
SCOPE_LINK_LOCAL = 2


def group_address(group):
    """The group as an ``ipaddress`` address, or None when it is not a multicast address."""
    try:
        address = ipaddress.ip_address(group)
    except ValueError:
        return None
    return address if address.is_multicast and "%" not in group else None


def ipv6_scope(group):
    """The scope field of an IPv6 multicast group (its second octet's low 4 bits)."""
    return ipaddress.IPv6Address(group).packed[1] & 0x0F


def check_group(group):
    """The error for a group that is not IPv4 or IPv6 multicast (or of a scope no probe can
    cross a LAN in), else None."""
    address = group_address(group)
    if "%" in group:
        return "group must be an address without a %%scope, got %r: set interface instead" % group
    if address is None:
        try:
            ipaddress.ip_address(group)
        except ValueError:
            return "%s, got %r" % (GROUP_RULE, group)
        return "%s, got %s" % (GROUP_RULE, group)
    if address.version == 6 and ipv6_scope(group) in (0, SCOPE_INTERFACE_LOCAL):
        return "group %s has scope %d (%s): it never leaves this host; use a link (ff02::) or wider scope" % (
            group, ipv6_scope(group), "reserved" if ipv6_scope(group) == 0 else "interface-local")
    return None


def is_link_local_group(group):
    """Groups that snooping switches flood to every port: 224.0.0.0/24, and ff02::1 (all nodes)."""
    address = ipaddress.ip_address(group)
    if address.version == 6:
        return address == ipaddress.IPv6Address("ff02::1")
    return address in ipaddress.ip_network("224.0.0.0/24")


def family(params):
    """4 or 6: the group's IP version (the options are validated)."""
    return ipaddress.ip_address(params["group"]).version


def interface_of_ipv6(address, path="/proc/net/if_inet6"):
    """The interface that has the IPv6 ``address``, or None (not ours, or IPv6 off)."""
    wanted = ipaddress.IPv6Address(address).packed.hex()
    try:
        with open(path) as handle:
            for line in handle:
                fields = line.split()
                if len(fields) == 6 and fields[0].lower() == wanted:
                    return fields[5]
    except OSError:
        return None
    return None


def _check_source(params):
    """The error for ``source``, else None: a unicast address of the group's family; IPv6 ones
    must be global (a link-local address means an interface: name that instead)."""
    try:
        source = ipaddress.ip_address(params["source"])
    except ValueError:
        source = None
    version = group_address(params["group"]).version if group_address(params["group"]) else 4
    if version == 4:
        if source is None or source.version != 4 or source.is_multicast or source.is_unspecified:
            return "source must be a unicast IPv4 address of this host, got %r" % params["source"]
        return None
    if source is None or source.version != 6 or source.is_multicast or source.is_unspecified or "%" in params["source"]:
        return "source must be a unicast IPv6 address of this host for an IPv6 group, got %r" % params["source"]
    if source.is_link_local:
        return "source %s is link-local: set interface instead (a link-local address belongs to one link)" % source
    return None


def validate(params):
    """Every problem with the options, as clear messages (empty: all good)."""
    mode = params["mode"]
    errors = []
    problem = check_group(params["group"])
    if problem:
        errors.append(problem)
    group = None if problem else group_address(params["group"])
    if not 1 <= params["port"] <= 65535:
        errors.append("port must be 1..65535, got %d" % params["port"])
    if params["count"] is not None and not 1 <= params["count"] <= MAX_COUNT:
        errors.append("count must be 1..%d, got %d" % (MAX_COUNT, params["count"]))
    wrong = SEND_ONLY if mode == "receive" else RECEIVE_ONLY
    for name in wrong:
        if params[name] is not None:
            errors.append("%s applies to mode=%s only, not mode=%s" % (
                name, "send" if mode == "receive" else "receive", mode))
    if params["interval"] is not None and not 0 <= params["interval"] <= MAX_INTERVAL:
        errors.append("interval must be 0..%g seconds, got %g" % (MAX_INTERVAL, params["interval"]))
    if params["duration"] is not None and not 0 < params["duration"] <= MAX_DURATION:
        errors.append("duration must be more than 0 and at most %g seconds, got %g" % (MAX_DURATION, params["duration"]))
    if params["ttl"] is not None and not 1 <= params["ttl"] <= 255:
        errors.append("ttl must be 1..255, got %d" % params["ttl"])
    largest = probe.MAX_PAYLOAD_SIZE if group is None or group.version == 4 else probe.MAX_PAYLOAD_SIZE6
    if params["payload_size"] is not None and not probe.HEADER_SIZE <= params["payload_size"] <= largest:
        errors.append("payload_size must be %d (the probe header) to %d octets%s, got %d"
                      % (probe.HEADER_SIZE, largest, "" if largest == probe.MAX_PAYLOAD_SIZE else " for IPv6",
                         params["payload_size"]))
    if params["probe_id"] is not None and not probe.valid_probe_id(params["probe_id"]):
        errors.append("probe_id must be 1..%d letters, digits, '.', '_', ':' or '-', got %r"
                      % (probe.ID_FIELD, params["probe_id"]))
    if mode == "send" and not errors:
        count = params["count"] or DEFAULT_COUNT
        interval = DEFAULT_INTERVAL if params["interval"] is None else params["interval"]
        if count * interval > MAX_DURATION:
            errors.append("count x interval must be at most %g seconds, got %d x %g" % (MAX_DURATION, count, interval))
    if params["source"] is not None:
        problem = _check_source(params)
        if problem:
            errors.append(problem)
        elif group is not None and group.version == 6 and interface_of_ipv6(params["source"]) is None:
            errors.append("source %s is not an IPv6 address of this host" % params["source"])
    if params["interface"] is not None and not netif.index(params["interface"]):
        errors.append(netif.missing_interface_message(params["interface"]))
    if (mode == "send" and group is not None and group.version == 6 and ipv6_scope(params["group"]) == SCOPE_LINK_LOCAL
            and params["interface"] is None and params["source"] is None):
        errors.append("group %s is link-scope (ff02::/16): set interface, the link to send it on" % params["group"])
    return errors


def ip_mreqn(group, address, ifindex):
    return struct.pack("4s4si", socket.inet_aton(group), socket.inet_aton(address), ifindex)


def open_sender(interface, source, ttl):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        if interface is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, ip_mreqn("0.0.0.0", "0.0.0.0", netif.index(interface)))
        if source is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
            sock.bind((source, 0))
    except BaseException:
        sock.close()
        raise
    return sock


def open_sender6(interface, source, hops):
    """A UDP socket sending to IPv6 multicast with Hop Limit ``hops``, out of ``interface`` (or
    the interface of ``source``, or the routing table's choice)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
        if source is not None:
            interface = interface_of_ipv6(source)
            sock.bind((source, 0))
        if interface is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, netif.index(interface))
    except BaseException:
        sock.close()
        raise
    return sock


def open_receiver(group, port, interface, source):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((group, port))
        sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)  # only what this socket joined
        ifindex = netif.index(interface) if interface is not None else 0
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, ip_mreqn(group, source or "0.0.0.0", ifindex))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def open_receiver6(group, port, interface):
    """A UDP socket bound to the IPv6 ``group`` and ``port`` that joined it on ``interface``
    (None: the routing table's choice; a link-scope group is bound to its interface too)."""
    ifindex = netif.index(interface) if interface is not None else 0
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        scoped = ipv6_scope(group) == SCOPE_LINK_LOCAL
        sock.bind((group, port, 0, ifindex if scoped else 0))
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)  # only what this socket joined
        except OSError:  # kernels before 4.20 lack it; the bound group address filters anyway
            pass
        mreq = struct.pack("16sI", socket.inet_pton(socket.AF_INET6, group), ifindex)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def run_send(module, params, result):
    count = params["count"] or DEFAULT_COUNT
    interval = DEFAULT_INTERVAL if params["interval"] is None else params["interval"]
    ttl = params["ttl"] or DEFAULT_TTL
    size = params["payload_size"] or probe.DEFAULT_PAYLOAD_SIZE
    probe_id = params["probe_id"] or os.urandom(6).hex()
    six = family(params) == 6
    target = (params["group"], params["port"])
    if six:  # the scope id picks the link of a link-scope group; 0 otherwise
        ifindex = netif.index(params["interface"]) if params["interface"] else 0
        target = (params["group"], params["port"], 0, ifindex if ipv6_scope(params["group"]) == SCOPE_LINK_LOCAL else 0)
    where = " on %s" % (params["interface"] or params["source"]) if (params["interface"] or params["source"]) else ""
    result.update(probe_id=probe_id, count=count, interval=interval, ttl=ttl, payload_size=size,
                  sent=0, errors=0, last_error=None, start_time=time.time(), elapsed=0.0)
    plan = "%d probes to %s%s (id %s, every %g s, %s %d)" % (
        count, "[%s]:%d" % target[:2] if six else "%s:%d" % target, where, probe_id, interval,
        "hop limit" if six else "TTL", ttl)
    if module.check_mode:
        result["msg"] = "check mode: sent nothing; would send " + plan
        return
    try:
        sock = (open_sender6 if six else open_sender)(params["interface"], params["source"], ttl)
    except OSError as exc:
        if params["source"] is not None:
            module.fail_json(msg="cannot send from source %s: %s (is it an address of this host?)"
                             % (params["source"], to_native(exc)), **result)
        module.fail_json(msg="cannot open the probe socket: %s" % to_native(exc), **result)
    start = time.monotonic()
    try:
        for sequence in range(count):
            delay = start + sequence * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            datagram = probe.encode(probe_id, sequence, count, time.time(), size)
            try:
                sock.sendto(datagram, target)
                result["sent"] += 1
            except OSError as exc:
                result["errors"] += 1
                result["last_error"] = to_native(exc)
    finally:
        sock.close()
    result["elapsed"] = round(time.monotonic() - start, 3)
    if not result["sent"]:
        module.fail_json(msg="sent none of %s: %s%s" % (plan, result["last_error"],
                                                        "" if where else "; set interface or source"), **result)
    result["msg"] = "sent %d of %s in %.1f s" % (result["sent"], plan, result["elapsed"])
    if result["errors"]:
        result["msg"] += "; %d send errors, last: %s" % (result["errors"], result["last_error"])


def _receive(sock):
    try:
        return sock.recvfrom(65535)
    except (BlockingIOError, InterruptedError):
        return None


def receive_for(sock, stats, duration, count=None, clock=time.monotonic, wall=time.time):
    """Feed the datagrams arriving on ``sock`` to ``stats`` for ``duration`` seconds or until
    ``count`` probes arrived (True then); the deadline holds under a flood (checked per batch)."""
    def handle(_sock, got):
        stats.add(got[0], got[1][0].split("%")[0], wall())  # an IPv6 link-local source without its %scope

    done = None if count is None else (lambda: stats.received >= count)
    return receive_until([sock], duration, _receive, handle, done=done, clock=clock)


def run_receive(module, params, result):
    count = params["count"]
    duration = DEFAULT_DURATION if params["duration"] is None else params["duration"]
    interface = params["interface"]
    if interface is None and params["source"] is None:
        interface = netif.default_route_interface()
        if interface is None:
            module.fail_json(msg="mode is receive, and this host has no IPv4 default route to pick an interface "
                             "from: set interface or source", **result)
        result["interface"] = interface
    if interface is not None and not netif.is_up(interface):
        module.warn("interface %s is down: no probe can arrive" % interface)
    stats = probe.ReceiveStats(params["probe_id"])
    result.update(count=count, duration=duration, start_time=time.time())
    try:
        if family(params) == 6:
            sock = open_receiver6(params["group"], params["port"],
                                  interface if params["source"] is None else interface_of_ipv6(params["source"]))
        else:
            sock = open_receiver(params["group"], params["port"], interface, params["source"])
    except OSError as exc:
        module.fail_json(msg="cannot join %s on %s: %s" % (params["group"], interface or params["source"], to_native(exc)),
                         **result)
    start = time.monotonic()
    try:
        ended_by_count = receive_for(sock, stats, duration, count)
    finally:
        sock.close()
    result["elapsed"] = round(time.monotonic() - start, 3)
    result["stopped"] = "count" if ended_by_count else "duration"
    result.update(stats.summary(count))
    where = ("[%s]:%d on %s" if family(params) == 6 else "%s:%d on %s") % (
        params["group"], params["port"], interface or params["source"])
    if result["expected"]:
        text = "received %d/%d probes of %s (%.1f%% lost)" % (
            result["received"], result["expected"], where, result["loss_percent"])
    elif result["received"]:
        text = "received %d probes of %s" % (result["received"], where)
    else:
        text = "received no probes of %s in %.0f s (count not given: loss unknown)" % (where, duration)
    if result["sources"]:
        text += " from " + ", ".join(result["sources"])
    for key in ("duplicated", "reordered"):
        if result[key]:
            text += ", %d %s" % (result[key], key)
    result["msg"] = text


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type="str", required=True, choices=["send", "receive"]),
            group=dict(type="str", required=True),
            port=dict(type="int", default=59559),
            count=dict(type="int"),
            interval=dict(type="float"),
            duration=dict(type="float"),
            ttl=dict(type="int"),
            interface=dict(type="str"),
            source=dict(type="str"),
            payload_size=dict(type="int"),
            probe_id=dict(type="str"),
        ),
        mutually_exclusive=[("interface", "source")],
        supports_check_mode=True,
    )
    params = module.params
    errors = text_option_errors(params, TEXT_OPTIONS) or validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    if is_link_local_group(params["group"]):
        if family(params) == 6:
            module.warn("%s is the all-nodes group, which snooping switches flood to every port: this probe cannot "
                        "show snooping problems; use a group such as ff05::4242 or ff02::4242" % params["group"])
        else:
            module.warn("%s is in 224.0.0.0/24, which snooping switches flood to every port: this probe cannot show "
                        "snooping problems; use a group such as 239.1.2.3" % params["group"])
    result = dict(changed=False, mode=params["mode"], group=params["group"], port=params["port"],
                  interface=params["interface"], source=params["source"], probe_id=params["probe_id"])
    if params["mode"] == "send":
        run_send(module, params, result)
    else:
        run_receive(module, params, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
